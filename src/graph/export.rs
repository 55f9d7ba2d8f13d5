//! Export the trust graph, or the part of it between two principals, as
//! Graphviz DOT or JSON (`trustwarden graph`).

use std::collections::HashSet;
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use petgraph::visit::{Bfs, EdgeRef, Reversed};
use serde_json::{Value, json};

use super::{Node, TrustGraph};

/// Which part of the graph to export.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only what this principal (ARN, account id, `*`, provider, service) reaches.
    pub from: Option<String>,
    /// Only what reaches this role.
    pub to: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a node of the trust graph")]
pub struct UnknownNode(pub String);

impl TrustGraph {
    /// The nodes the selection keeps: reachable from `from` and reaching `to`.
    pub fn select(&self, selection: &Selection) -> Result<HashSet<NodeIndex>, UnknownNode> {
        let lookup = |id: &str| self.node(id).ok_or_else(|| UnknownNode(id.to_string()));
        let mut keep: HashSet<NodeIndex> = self.graph.node_indices().collect();
        if let Some(from) = &selection.from {
            let mut reached = HashSet::new();
            let mut bfs = Bfs::new(&self.graph, lookup(from)?);
            while let Some(n) = bfs.next(&self.graph) {
                reached.insert(n);
            }
            keep.retain(|n| reached.contains(n));
        }
        if let Some(to) = &selection.to {
            let reversed = Reversed(&self.graph);
            let mut reaching = HashSet::new();
            let mut bfs = Bfs::new(reversed, lookup(to)?);
            while let Some(n) = bfs.next(reversed) {
                reaching.insert(n);
            }
            keep.retain(|n| reaching.contains(n));
        }
        Ok(keep)
    }

    /// JSON: `{"nodes": [...], "edges": [{"from", "to", "action", "conditions", "evidence",
    /// "open_to_other_customers", "federation"}]}`; `federation` (identity
    /// providers only, else null) says which of the issuer's identities get in.
    pub fn to_json(&self, selection: &Selection) -> Result<Value, UnknownNode> {
        let keep = self.select(selection)?;
        let mut nodes: Vec<NodeIndex> = keep.iter().copied().collect();
        nodes.sort_by(|a, b| self.graph[*a].id().cmp(self.graph[*b].id()));
        let edges: Vec<Value> = nodes
            .iter()
            .flat_map(|&n| self.graph.edges_directed(n, Direction::Outgoing))
            .filter(|e| keep.contains(&e.target()))
            .map(|e| {
                json!({
                    "from": self.graph[e.source()].id(),
                    "to": self.graph[e.target()].id(),
                    "action": e.weight().action,
                    "conditions": e.weight().conditions,
                    "evidence": e.weight().evidence,
                    "open_to_other_customers": e.weight().open_to_other_customers,
                    "federation": e.weight().federation,
                })
            })
            .collect();
        let nodes: Vec<&Node> = nodes.iter().map(|&n| &self.graph[n]).collect();
        Ok(json!({"nodes": nodes, "edges": edges}))
    }

    /// Graphviz DOT: outside principals in red, privileged principals bold.
    pub fn to_dot(&self, selection: &Selection) -> Result<String, UnknownNode> {
        let keep = self.select(selection)?;
        let mut nodes: Vec<NodeIndex> = keep.iter().copied().collect();
        nodes.sort_by(|a, b| self.graph[*a].id().cmp(self.graph[*b].id()));
        let mut out = String::from("digraph trust {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
        for &n in &nodes {
            let node = &self.graph[n];
            let mut attributes = vec![format!("label={}", quote(&label(node)))];
            if node.is_outside() {
                attributes.push("color=red, fontcolor=red".into());
            }
            if node.is_privileged() {
                attributes.push("style=bold, penwidth=2".into());
            }
            let _ = writeln!(out, "  {} [{}];", quote(node.id()), attributes.join(", "));
        }
        for &n in &nodes {
            for e in self.graph.edges_directed(n, Direction::Outgoing).filter(|e| keep.contains(&e.target())) {
                let mut edge_label = e.weight().action.trim_start_matches("sts:").to_string();
                for c in &e.weight().conditions {
                    let _ = write!(edge_label, "\n{} {}", c.operator, c.key);
                }
                let _ = writeln!(
                    out,
                    "  {} -> {} [label={}];",
                    quote(self.graph[e.source()].id()),
                    quote(self.graph[e.target()].id()),
                    quote(&edge_label)
                );
            }
        }
        out.push_str("}\n");
        Ok(out)
    }
}

fn label(node: &Node) -> String {
    match node {
        Node::Role { arn, privileged, broker, .. } | Node::User { arn, privileged, broker, .. } => {
            let mut l = arn.clone();
            if let Node::Role { permission_set: Some(set), .. } = node {
                l.push_str(&format!("\n(Identity Center permission set {set})"));
            }
            if *privileged {
                l.push_str("\n(privileged)");
            }
            if *broker {
                l.push_str("\n(broker)");
            }
            l
        }
        Node::OutsideAccount { account } => format!("account {account}\n(outside)"),
        Node::OutsidePrincipal { arn, .. } => format!("{arn}\n(outside)"),
        Node::OutsideOrganization { id } => format!("organization {id}\n(outside)"),
        Node::Public => "* (anyone)".into(),
        Node::IdentityProvider { id, provider, .. } => format!("{id}\n({provider:?} provider)"),
        Node::Service { name } => format!("{name}\n(service)"),
    }
}

/// A DOT double-quoted string.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
