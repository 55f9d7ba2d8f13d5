"""Seeds a moto server with a small AWS organization for trustwarden's
collection tests and prints, as JSON, what it created.

Usage: python seed_org.py ENDPOINT

The organization: the management account (moto's default, 123456789012) and
members `prod`, `dev`, `legacy` and `closed`. Each of management, prod and dev
has users, access keys, groups, roles with trust policies, inline and managed
policies, and the audit role `TrustwardenAudit`. `legacy` has IAM data but no
audit role; `closed` is closed (SUSPENDED).

Making moto refuse AssumeRole into `legacy`: moto's sts:AssumeRole accepts any
role ARN, existing or not, and only checks a trust policy when the role is in
the caller's own account. What it does enforce, once its IAM authorization is
switched on (POST /moto-api/reset-auth), is the caller's identity policy. So
the collector runs as the IAM user `trustwarden-auditor`, whose policy allows
sts:AssumeRole on exactly the audit roles that exist, and the seed then
switches authorization on. AssumeRole into `legacy` is refused with
AccessDenied, the error AWS gives for a role that does not exist or does not
trust the caller. With authorization on, every other call is checked too:
the audit roles carry the read-only IAM policy trustwarden needs.
"""

import json
import sys
import urllib.request

import boto3

ENDPOINT = sys.argv[1]
REGION = "us-east-1"
MANAGEMENT = "123456789012"
AUDIT_ROLE = "TrustwardenAudit"
AUDITOR = "trustwarden-auditor"
AUDITOR_ARN = f"arn:aws:iam::{MANAGEMENT}:user/{AUDITOR}"


def client(service, credentials=None):
    credentials = credentials or {
        "AccessKeyId": "testing",
        "SecretAccessKey": "testing",
        "SessionToken": None,
    }
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def trust(principal, condition=None, action="sts:AssumeRole"):
    statement = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return document(statement)


READ_IAM = document(allow(["iam:GenerateCredentialReport", "iam:Get*", "iam:List*"]))


class Account:
    """Creates IAM entities in one account and records them as the collector should see them."""

    def __init__(self, account_id, name, iam):
        self.id = account_id
        self.iam = iam
        self.expected = {
            "name": name,
            "alias": None,
            "users": {},
            "groups": {},
            "roles": {},
            "managed_policies": [],
            "password_policy_min_length": None,
            "oidc_providers": [],
            "saml_providers": [],
        }

    def arn(self, kind, name):
        return f"arn:aws:iam::{self.id}:{kind}/{name}"

    def alias(self, alias):
        self.iam.create_account_alias(AccountAlias=alias)
        self.expected["alias"] = alias

    def password_policy(self, length):
        self.iam.update_account_password_policy(
            MinimumPasswordLength=length, RequireSymbols=True, MaxPasswordAge=90
        )
        self.expected["password_policy_min_length"] = length

    def managed_policy(self, name, *versions):
        arn = self.iam.create_policy(PolicyName=name, PolicyDocument=versions[0])["Policy"]["Arn"]
        for version in versions[1:]:
            self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=version, SetAsDefault=True)
        self.expected["managed_policies"].append(arn)
        return arn

    def group(self, name, inline=(), attached=()):
        self.iam.create_group(GroupName=name)
        for policy_name, policy in inline:
            self.iam.put_group_policy(GroupName=name, PolicyName=policy_name, PolicyDocument=policy)
        for arn in attached:
            self.iam.attach_group_policy(GroupName=name, PolicyArn=arn)
        self.expected["groups"][name] = {
            "inline_policies": sorted(p for p, _ in inline),
            "attached_policies": sorted(attached),
        }

    # No permissions boundary for users: moto keeps them for roles only.
    def user(self, name, groups=(), inline=(), attached=(), tags=None, keys=0, inactive_keys=0, password=False):
        tags = tags or {}
        self.iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        for group in groups:
            self.iam.add_user_to_group(GroupName=group, UserName=name)
        for policy_name, policy in inline:
            self.iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=policy)
        for arn in attached:
            self.iam.attach_user_policy(UserName=name, PolicyArn=arn)
        for index in range(keys + inactive_keys):
            key = self.iam.create_access_key(UserName=name)["AccessKey"]
            if index >= keys:
                self.iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
        if password:
            self.iam.create_login_profile(UserName=name, Password="Correct-Horse-9!")
        self.expected["users"][name] = {
            "groups": sorted(groups),
            "inline_policies": sorted(p for p, _ in inline),
            "attached_policies": sorted(attached),
            "permissions_boundary": None,
            "tags": tags,
            "access_keys_active": [True] * keys + [False] * inactive_keys,
            "password_enabled": password,
        }

    def role(self, name, trust_policy, inline=(), attached=(), boundary=None, tags=None):
        tags = tags or {}
        self.iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=trust_policy,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            **({"PermissionsBoundary": boundary} if boundary else {}),
        )
        for policy_name, policy in inline:
            self.iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=policy)
        for arn in attached:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        self.expected["roles"][name] = {
            "trust_policy": json.loads(trust_policy),
            "inline_policies": sorted(p for p, _ in inline),
            "attached_policies": sorted(attached),
            "permissions_boundary": boundary,
            "tags": tags,
        }

    def audit_role(self):
        self.role(AUDIT_ROLE, trust({"AWS": AUDITOR_ARN}), inline=[("read-iam", READ_IAM)])

    def oidc_provider(self, url, client_ids, thumbprint):
        arn = self.iam.create_open_id_connect_provider(
            Url=url, ClientIDList=client_ids, ThumbprintList=[thumbprint]
        )["OpenIDConnectProviderArn"]
        # IAM reports the URL without its scheme.
        self.expected["oidc_providers"].append(
            {"arn": arn, "url": url.removeprefix("https://"), "client_ids": client_ids}
        )

    def saml_provider(self, name, metadata):
        arn = self.iam.create_saml_provider(Name=name, SAMLMetadataDocument=metadata)["SAMLProviderArn"]
        self.expected["saml_providers"].append(arn)


def member(account_id, name):
    account = Account(account_id, name, member_iam(account_id))
    # Organizations creates this role in every account it creates (moto, with no policy attached).
    account.expected["roles"]["OrganizationAccountAccessRole"] = {
        "trust_policy": json.loads(trust({"AWS": f"arn:aws:iam::{MANAGEMENT}:root"})),
        "inline_policies": [],
        "attached_policies": [],
        "permissions_boundary": None,
        "tags": {},
    }
    return account


def member_iam(account_id):
    # moto switches accounts by the account id in an assumed role's ARN; the
    # role need not exist while authorization is off.
    credentials = client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
        RoleSessionName="seed",
    )["Credentials"]
    return client("iam", credentials)


def seed_management():
    # "master" is what moto names the management account in ListAccounts.
    account = Account(MANAGEMENT, "master", client("iam"))
    account.alias("acme-management")
    account.password_policy(14)
    admin = account.managed_policy("admin", document(allow("*")))
    account.group("admins", attached=[admin])
    account.user("root-ops", groups=["admins"], keys=1, password=True)
    account.audit_role()
    return account


def seed_prod(account_id, dev_id):
    account = member(account_id, "prod")
    account.alias("acme-prod")
    account.password_policy(12)
    deploy = account.managed_policy(
        "deploy",
        document(allow("s3:PutObject", "arn:aws:s3:::acme-artifacts/*")),
        document(allow(["s3:PutObject", "s3:GetObject"], "arn:aws:s3:::acme-artifacts/*")),
    )
    boundary = account.managed_policy("boundary", document(allow(["s3:*", "ec2:Describe*"])))
    account.group(
        "developers",
        inline=[("describe-ec2", document(allow("ec2:Describe*")))],
        attached=[deploy],
    )
    account.user(
        "alice",
        groups=["developers"],
        inline=[("read-reports", document(allow("s3:GetObject", "arn:aws:s3:::acme-reports/*")))],
        attached=[deploy],
        tags={"team": "payments", "owner": "alice@example.com"},
        keys=2,
        password=True,
    )
    account.user("bob", password=True)
    account.role(
        "app",
        trust({"Service": "ec2.amazonaws.com"}),
        inline=[("app-data", document(allow("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:*:table/app")))],
        attached=[deploy],
        boundary=boundary,
        tags={"env": "prod"},
    )
    account.role(
        "partner-access",
        trust({"AWS": "arn:aws:iam::999999999999:root"}, {"StringEquals": {"sts:ExternalId": "acme-7f3a"}}),
        inline=[("read", document(allow("s3:GetObject", "arn:aws:s3:::acme-shared/*")))],
    )
    account.role("dev-deployer", trust({"AWS": f"arn:aws:iam::{dev_id}:root"}), attached=[deploy])
    account.oidc_provider(
        "https://token.actions.githubusercontent.com",
        ["sts.amazonaws.com"],
        "6938fd4d98bab03faadb97b34396831e3780aea1",
    )
    github = f"arn:aws:iam::{account_id}:oidc-provider/token.actions.githubusercontent.com"
    account.role(
        "github-deploy",
        trust(
            {"Federated": github},
            {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
            action="sts:AssumeRoleWithWebIdentity",
        ),
        attached=[deploy],
    )
    account.saml_provider("okta", SAML_METADATA)
    account.audit_role()
    return account


def seed_dev(account_id, prod_id):
    account = member(account_id, "dev")
    sandbox = account.managed_policy("sandbox", document(allow(["ec2:*", "s3:*"])))
    account.group("readers")
    account.user("carol", groups=["readers"], attached=[sandbox], keys=1, inactive_keys=1)
    account.role("ci", trust({"AWS": f"arn:aws:iam::{prod_id}:root"}), attached=[sandbox])
    account.audit_role()
    return account


def seed_legacy(account_id):
    account = member(account_id, "legacy")
    account.user("dave", keys=1)
    return account


# IAM wants at least 1,000 characters of metadata: a signing certificate makes it so.
SAML_METADATA = f"""<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exk1">
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing">
      <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">
        <X509Data><X509Certificate>MIIDpDCCAoygAwIBAgIGAX{"A" * 900}</X509Certificate></X509Data>
      </KeyInfo>
    </KeyDescriptor>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.okta.com/app/sso/saml"/>
  </IDPSSODescriptor>
</EntityDescriptor>"""


def main():
    organizations = client("organizations")
    organization = organizations.create_organization(FeatureSet="ALL")["Organization"]

    def create_account(name):
        status = organizations.create_account(AccountName=name, Email=f"{name}@acme.example")
        return status["CreateAccountStatus"]["AccountId"]

    prod_id, dev_id, legacy_id, closed_id = (create_account(n) for n in ["prod", "dev", "legacy", "closed"])
    organizations.close_account(AccountId=closed_id)

    # One account at a time: each seeding switches moto to that account.
    accounts = [seed_management(), seed_prod(prod_id, dev_id), seed_dev(dev_id, prod_id), seed_legacy(legacy_id)]
    audited = [a for a in accounts if AUDIT_ROLE in a.expected["roles"]]

    iam = client("iam")
    iam.create_user(UserName=AUDITOR)
    key = iam.create_access_key(UserName=AUDITOR)["AccessKey"]
    iam.put_user_policy(
        UserName=AUDITOR,
        PolicyName="trustwarden",
        PolicyDocument=document(
            allow(["organizations:DescribeOrganization", "organizations:ListAccounts"]),
            allow("sts:AssumeRole", [a.arn("role", AUDIT_ROLE) for a in audited]),
            # For the single-account scope, where the auditor reads its own account.
            allow(["iam:GenerateCredentialReport", "iam:Get*", "iam:List*"]),
        ),
    )
    accounts[0].expected["users"][AUDITOR] = {
        "groups": [],
        "inline_policies": ["trustwarden"],
        "attached_policies": [],
        "permissions_boundary": None,
        "tags": {},
        "access_keys_active": [True],
        "password_enabled": False,
    }

    # The body is how many more requests go unchecked; a form content type would hide it from moto.
    request = urllib.request.Request(
        f"{ENDPOINT}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request).read()

    json.dump(
        {
            "organization_id": organization["Id"],
            "management_account": MANAGEMENT,
            "auditor": {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]},
            "accounts": {a.id: a.expected for a in accounts},
            "audited": sorted(a.id for a in audited),
            "without_audit_role": legacy_id,
            "suspended": closed_id,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
