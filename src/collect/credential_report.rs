//! The IAM credential report: AWS's CSV parsed into typed rows, one per user
//! plus the `<root_account>` row.

use std::fmt;

use chrono::{DateTime, Utc};

/// The columns AWS documents, in the order it writes them.
pub const COLUMNS: [&str; 22] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

/// How the report names the root user.
const ROOT_USER: &str = "<root_account>";

/// A report cell: a value, or one of the placeholders AWS writes instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportValue<T> {
    Value(T),
    /// `N/A`: the credential does not exist (no password, no key).
    NotApplicable,
    /// `no_information`: the credential exists but was not used since IAM
    /// started tracking.
    NoInformation,
    /// `not_supported`: the column does not apply to this row (root password
    /// fields).
    NotSupported,
}

impl<T> ReportValue<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            ReportValue::Value(value) => Some(value),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialReport {
    /// The `<root_account>` row.
    pub root: Option<CredentialReportRow>,
    pub users: Vec<CredentialReportRow>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialReportRow {
    pub user: String,
    pub arn: String,
    pub user_creation_time: DateTime<Utc>,
    pub password_enabled: ReportValue<bool>,
    pub password_last_used: ReportValue<DateTime<Utc>>,
    pub password_last_changed: ReportValue<DateTime<Utc>>,
    pub password_next_rotation: ReportValue<DateTime<Utc>>,
    pub mfa_active: bool,
    pub access_keys: [AccessKeyColumns; 2],
    pub certs: [CertColumns; 2],
}

/// `access_key_N_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessKeyColumns {
    pub active: bool,
    pub last_rotated: ReportValue<DateTime<Utc>>,
    pub last_used_date: ReportValue<DateTime<Utc>>,
    pub last_used_region: ReportValue<String>,
    pub last_used_service: ReportValue<String>,
}

/// `cert_N_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertColumns {
    pub active: bool,
    pub last_rotated: ReportValue<DateTime<Utc>>,
}

/// Why a report, or one of its rows, cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialReportError {
    #[error("header column {position} is {found:?}, expected {expected:?}")]
    WrongColumn { position: usize, expected: &'static str, found: String },
    #[error("header ends after {found} columns, missing {missing:?}")]
    MissingColumn { found: usize, missing: &'static str },
    #[error("header: {0}")]
    UnreadableHeader(String),
    #[error("the report is empty")]
    Empty,
}

/// A row that cannot be read, by its line in the CSV.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl CredentialReport {
    /// Parses the CSV. A wrong header rejects the report; a row that cannot
    /// be read is returned beside the report and the other rows are kept.
    pub fn parse(csv: &[u8]) -> Result<(Self, Vec<RowError>), CredentialReportError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            // Rows of the wrong length are reported per line, not as a
            // reader error that would lose the line number's context.
            .flexible(true)
            .from_reader(csv);
        let mut records = reader.records();
        let header = match records.next() {
            Some(Ok(header)) => header,
            Some(Err(error)) => return Err(CredentialReportError::UnreadableHeader(error.to_string())),
            None => return Err(CredentialReportError::Empty),
        };
        check_header(&header)?;

        let mut report = CredentialReport::default();
        let mut errors = Vec::new();
        for record in records {
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    errors.push(row_error(&error));
                    continue;
                }
            };
            let line = record.position().map_or(0, csv::Position::line);
            match parse_row(&record) {
                Ok(row) if row.user != ROOT_USER => report.users.push(row),
                Ok(row) if report.root.is_none() => report.root = Some(row),
                Ok(_) => errors.push(RowError { line, message: format!("a second {ROOT_USER} row") }),
                Err(message) => errors.push(RowError { line, message }),
            }
        }
        Ok((report, errors))
    }
}

/// AWS has appended columns to this report before (the `last_used` ones), so
/// columns after the 22 known ones are accepted and ignored.
fn check_header(header: &csv::StringRecord) -> Result<(), CredentialReportError> {
    for (position, expected) in COLUMNS.iter().enumerate() {
        match header.get(position) {
            Some(found) if found == *expected => {}
            Some(found) => {
                return Err(CredentialReportError::WrongColumn {
                    position: position + 1,
                    expected,
                    found: found.to_owned(),
                });
            }
            None => {
                return Err(CredentialReportError::MissingColumn { found: header.len(), missing: expected });
            }
        }
    }
    Ok(())
}

fn row_error(error: &csv::Error) -> RowError {
    RowError { line: error.position().map_or(0, csv::Position::line), message: error.to_string() }
}

fn parse_row(record: &csv::StringRecord) -> Result<CredentialReportRow, String> {
    if record.len() < COLUMNS.len() {
        return Err(format!("{} fields, expected {}", record.len(), COLUMNS.len()));
    }
    let access_key = |first: usize| -> Result<AccessKeyColumns, String> {
        Ok(AccessKeyColumns {
            active: cell(record, first, &Boolean)?,
            last_rotated: cell(record, first + 1, &Placeholder(Timestamp))?,
            last_used_date: cell(record, first + 2, &Placeholder(Timestamp))?,
            last_used_region: cell(record, first + 3, &Placeholder(Text))?,
            last_used_service: cell(record, first + 4, &Placeholder(Text))?,
        })
    };
    let cert = |first: usize| -> Result<CertColumns, String> {
        Ok(CertColumns {
            active: cell(record, first, &Boolean)?,
            last_rotated: cell(record, first + 1, &Placeholder(Timestamp))?,
        })
    };
    Ok(CredentialReportRow {
        user: record[0].to_owned(),
        arn: record[1].to_owned(),
        user_creation_time: cell(record, 2, &Timestamp)?,
        password_enabled: cell(record, 3, &Placeholder(Boolean))?,
        password_last_used: cell(record, 4, &Placeholder(Timestamp))?,
        password_last_changed: cell(record, 5, &Placeholder(Timestamp))?,
        password_next_rotation: cell(record, 6, &Placeholder(Timestamp))?,
        mfa_active: cell(record, 7, &Boolean)?,
        access_keys: [access_key(8)?, access_key(13)?],
        certs: [cert(18)?, cert(20)?],
    })
}

fn cell<K: CellKind>(record: &csv::StringRecord, index: usize, kind: &K) -> Result<K::Output, String> {
    let raw = &record[index];
    kind.parse(raw).ok_or_else(|| format!("{}: expected {kind}, found {raw:?}", COLUMNS[index]))
}

/// What a column holds, and how the error message describes it.
trait CellKind: fmt::Display {
    type Output;
    fn parse(&self, raw: &str) -> Option<Self::Output>;
}

struct Boolean;

impl CellKind for Boolean {
    type Output = bool;
    fn parse(&self, raw: &str) -> Option<bool> {
        match raw {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}

impl fmt::Display for Boolean {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false")
    }
}

/// ISO-8601 with an offset, as AWS writes it: `2026-01-05T10:11:12+00:00`.
struct Timestamp;

impl CellKind for Timestamp {
    type Output = DateTime<Utc>;
    fn parse(&self, raw: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(raw).ok().map(|time| time.with_timezone(&Utc))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an ISO-8601 time")
    }
}

struct Text;

impl CellKind for Text {
    type Output = String;
    fn parse(&self, raw: &str) -> Option<String> {
        Some(raw.to_owned())
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text")
    }
}

/// A column that may hold one of AWS's placeholders instead of a value.
struct Placeholder<K>(K);

impl<K: CellKind> CellKind for Placeholder<K> {
    type Output = ReportValue<K::Output>;
    fn parse(&self, raw: &str) -> Option<Self::Output> {
        match raw {
            "N/A" => Some(ReportValue::NotApplicable),
            "no_information" => Some(ReportValue::NoInformation),
            "not_supported" => Some(ReportValue::NotSupported),
            _ => self.0.parse(raw).map(ReportValue::Value),
        }
    }
}

impl<K: CellKind> fmt::Display for Placeholder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, N/A, no_information or not_supported", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";
    const ROOT: &str = "<root_account>,arn:aws:iam::111111111111:root,2020-01-02T03:04:05+00:00,not_supported,2026-01-05T10:11:12+00:00,not_supported,not_supported,false,true,2021-06-01T00:00:00+00:00,2025-12-24T08:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A";
    const ALICE: &str = "alice,arn:aws:iam::111111111111:user/alice,2024-01-01T00:00:00+00:00,true,no_information,2024-01-01T00:00:00+00:00,N/A,false,true,2024-01-01T00:00:00+00:00,N/A,N/A,N/A,true,2025-01-01T00:00:00+00:00,2025-02-01T00:00:00+00:00,eu-west-1,iam,false,N/A,false,N/A";

    fn time(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn reads_root_and_user_rows() {
        let csv = format!("{HEADER}\n{ROOT}\n{ALICE}\n");
        let (report, errors) = CredentialReport::parse(csv.as_bytes()).unwrap();
        assert_eq!(errors, []);
        let root = report.root.unwrap();
        assert_eq!(root.password_enabled, ReportValue::NotSupported);
        assert_eq!(root.password_last_used, ReportValue::Value(time(2026, 1, 5, 10, 11, 12)));
        assert!(root.access_keys[0].active);
        assert_eq!(root.access_keys[0].last_used_service, ReportValue::Value("s3".into()));
        assert_eq!(root.access_keys[1].last_rotated, ReportValue::NotApplicable);

        let [alice] = &report.users[..] else { panic!("{:?}", report.users) };
        assert_eq!(alice.user, "alice");
        assert_eq!(alice.password_enabled, ReportValue::Value(true));
        assert_eq!(alice.password_last_used, ReportValue::NoInformation);
        assert_eq!(alice.access_keys[0].last_used_date, ReportValue::NotApplicable);
        assert_eq!(alice.access_keys[1].last_used_region, ReportValue::Value("eu-west-1".into()));
        assert!(!alice.certs[1].active);
    }

    #[test]
    fn wrong_header_names_the_column() {
        let csv = HEADER.replace("mfa_active", "mfa");
        assert_eq!(
            CredentialReport::parse(csv.as_bytes()).unwrap_err().to_string(),
            r#"header column 8 is "mfa", expected "mfa_active""#
        );
        let truncated = HEADER.rsplit_once(',').unwrap().0;
        assert_eq!(
            CredentialReport::parse(truncated.as_bytes()).unwrap_err().to_string(),
            r#"header ends after 21 columns, missing "cert_2_last_rotated""#
        );
        assert_eq!(CredentialReport::parse(b"").unwrap_err(), CredentialReportError::Empty);
    }

    #[test]
    fn later_columns_are_ignored() {
        let csv = format!("{HEADER},new_column\n{ALICE},x\n");
        let (report, errors) = CredentialReport::parse(csv.as_bytes()).unwrap();
        assert_eq!((report.users.len(), errors), (1, vec![]));
    }

    #[test]
    fn malformed_rows_name_their_line_and_the_rest_is_kept() {
        let bad_flag = ALICE.replacen(",false,true,", ",yes,true,", 1);
        let csv = format!("{HEADER}\n{bad_flag}\n{ROOT}\nbob,arn\n{ALICE}\n");
        let (report, errors) = CredentialReport::parse(csv.as_bytes()).unwrap();
        assert!(report.root.is_some());
        assert_eq!(report.users.len(), 1);
        let messages: Vec<_> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [r#"line 2: mfa_active: expected true or false, found "yes""#, "line 4: 2 fields, expected 22",]
        );
    }

    #[test]
    fn placeholder_errors_say_what_was_expected() {
        let csv = format!("{HEADER}\n{}\n", ALICE.replacen("no_information", "yesterday", 1));
        let (_, errors) = CredentialReport::parse(csv.as_bytes()).unwrap();
        assert_eq!(
            errors[0].to_string(),
            r#"line 2: password_last_used: expected an ISO-8601 time, N/A, no_information or not_supported, found "yesterday""#
        );
    }

    fn placeholder<T: fmt::Debug + Clone + 'static>(
        value: impl Strategy<Value = T> + 'static,
    ) -> impl Strategy<Value = ReportValue<T>> {
        prop_oneof![
            value.prop_map(ReportValue::Value),
            Just(ReportValue::NotApplicable),
            Just(ReportValue::NoInformation),
            Just(ReportValue::NotSupported),
        ]
    }

    fn timestamp() -> impl Strategy<Value = DateTime<Utc>> {
        (0i64..4_102_444_800).prop_map(|secs| DateTime::from_timestamp(secs, 0).unwrap())
    }

    fn access_key() -> impl Strategy<Value = AccessKeyColumns> {
        (
            any::<bool>(),
            placeholder(timestamp()),
            placeholder(timestamp()),
            placeholder("[a-z]{2}-[a-z]{4,9}-[1-3]"),
            placeholder("[a-z0-9-]{1,12}"),
        )
            .prop_map(|(active, last_rotated, last_used_date, last_used_region, last_used_service)| {
                AccessKeyColumns { active, last_rotated, last_used_date, last_used_region, last_used_service }
            })
    }

    fn cert() -> impl Strategy<Value = CertColumns> {
        (any::<bool>(), placeholder(timestamp()))
            .prop_map(|(active, last_rotated)| CertColumns { active, last_rotated })
    }

    fn row() -> impl Strategy<Value = CredentialReportRow> {
        (
            "[A-Za-z0-9+=,.@_-]{1,64}",
            timestamp(),
            placeholder(any::<bool>()),
            [placeholder(timestamp()), placeholder(timestamp()), placeholder(timestamp())],
            any::<bool>(),
            [access_key(), access_key()],
            [cert(), cert()],
        )
            .prop_map(
                |(
                    user,
                    user_creation_time,
                    password_enabled,
                    [used, changed, next],
                    mfa_active,
                    access_keys,
                    certs,
                )| {
                    CredentialReportRow {
                        arn: format!("arn:aws:iam::111111111111:user/{user}"),
                        user,
                        user_creation_time,
                        password_enabled,
                        password_last_used: used,
                        password_last_changed: changed,
                        password_next_rotation: next,
                        mfa_active,
                        access_keys,
                        certs,
                    }
                },
            )
    }

    fn render<T>(value: &ReportValue<T>, show: impl Fn(&T) -> String) -> String {
        match value {
            ReportValue::Value(value) => show(value),
            ReportValue::NotApplicable => "N/A".into(),
            ReportValue::NoInformation => "no_information".into(),
            ReportValue::NotSupported => "not_supported".into(),
        }
    }

    /// Writes a row the way AWS does.
    fn to_fields(row: &CredentialReportRow) -> Vec<String> {
        let time = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
        let mut fields = vec![
            row.user.clone(),
            row.arn.clone(),
            time(&row.user_creation_time),
            render(&row.password_enabled, ToString::to_string),
            render(&row.password_last_used, time),
            render(&row.password_last_changed, time),
            render(&row.password_next_rotation, time),
            row.mfa_active.to_string(),
        ];
        for key in &row.access_keys {
            fields.extend([
                key.active.to_string(),
                render(&key.last_rotated, time),
                render(&key.last_used_date, time),
                render(&key.last_used_region, Clone::clone),
                render(&key.last_used_service, Clone::clone),
            ]);
        }
        for cert in &row.certs {
            fields.extend([cert.active.to_string(), render(&cert.last_rotated, time)]);
        }
        fields
    }

    proptest! {
        #[test]
        fn rows_round_trip(rows in proptest::collection::vec(row(), 0..20)) {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(COLUMNS).unwrap();
            for row in &rows {
                writer.write_record(to_fields(row)).unwrap();
            }
            let csv = writer.into_inner().unwrap();
            let (report, errors) = CredentialReport::parse(&csv).unwrap();
            prop_assert_eq!(errors, vec![]);
            prop_assert_eq!(report.users, rows);
        }

        #[test]
        fn arbitrary_input_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut csv = format!("{HEADER}\n").into_bytes();
            csv.extend(body);
            let _ = CredentialReport::parse(&csv);
        }
    }
}
