//! The test harness: an `Env` per test (temp dir, database, the emulator's endpoint), a `Run` with
//! assertions on exit status and output (exit 0 and an empty stderr unless the test says
//! otherwise), and `Iam`, which reads IAM state back through the SDK.

#![allow(dead_code)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Write;
use std::panic::Location;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use aws_sdk_iam::Client;

pub use crate::state::State;

pub const BIN: &str = env!("CARGO_BIN_EXE_awscreds");
pub const SEED_ACCESS_KEY: &str = "AKIAJWVN5Z4FOFT7NLNA";
pub const SEED_SECRET_KEY: &str = "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";
pub const SEED_POLICY: &str = r#"{
"Version": "2012-10-17",
"Statement": {
"Effect": "Allow",
"Action": "iam:*",
"Resource": "*"
}
}
"#;
pub const SEED_POLICY_COMPACT: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}"#;

/// The emulator's endpoint, from scripts/test.
pub fn endpoint() -> String {
    std::env::var("AWSCREDS_TEST_ENDPOINT").expect(
        "AWSCREDS_TEST_ENDPOINT is not set: run the tests with scripts/test, which starts the \
         IAM emulator",
    )
}

/// A port on which nothing listens: an AWS that cannot be reached. The port stays bound (but not
/// listening) for the whole test run, so that no other test's server can be given it: a port
/// merely freed was, on a loaded machine, soon another test's proxy, and the "dead" AWS answered.
pub fn dead_endpoint() -> String {
    static DEAD: std::sync::OnceLock<(tokio::net::TcpSocket, String)> = std::sync::OnceLock::new();
    let (_, url) = DEAD.get_or_init(|| {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        (socket, format!("http://127.0.0.1:{port}"))
    });
    url.clone()
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Makes every lease of `env` expired, behind awscreds' back (rather than issue short leases
/// and sleep, which a loaded machine turns into leases expiring while the test still issues).
pub fn expire_all(env: &Env) {
    let state = env.state();
    let past = unix_now() - 10;
    for lease in state.leases() {
        state.change_lease(&lease.id, |l| {
            l.expires_at = past;
            l.due_at = past;
        });
    }
}

/// The backend the suite runs against: `AWSCREDS_TEST_BACKEND=postgres` (set by scripts/test
/// for its second pass) makes each `Env` a fresh PostgreSQL database on the server that
/// scripts/with-postgres started (or `AWSCREDS_TEST_POSTGRES_URL`); otherwise SQLite files.
pub fn postgres() -> bool {
    std::env::var("AWSCREDS_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// For a test that is SQLite's by nature (its files, their modes, its lock files): true, after
/// saying why, when the suite runs against PostgreSQL, and the test then returns.
pub fn sqlite_only(why: &str) -> bool {
    if postgres() {
        eprintln!("skipped on PostgreSQL: {why}");
    }
    postgres()
}

/// The superuser URL of the test server, from scripts/with-postgres.
pub fn postgres_admin_url() -> String {
    std::env::var("AWSCREDS_TEST_POSTGRES_URL").expect(
        "AWSCREDS_TEST_POSTGRES_URL is not set: run the tests with scripts/test, which starts \
         PostgreSQL",
    )
}

/// The URL of database `name` on the test server (the admin URL with another path).
pub fn postgres_url(name: &str) -> String {
    let admin = postgres_admin_url();
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base.to_string(), format!("?{query}")),
        None => (admin.clone(), String::new()),
    };
    let (server, _) = base.rsplit_once('/').expect("a URL with a database");
    format!("{server}/{name}{query}")
}

/// Runs SQL as the test server's superuser (in its `postgres` database); the rows' first
/// column, as text.
pub fn postgres_admin(sql: &str) -> Vec<Option<String>> {
    postgres_sql(&postgres_admin_url(), sql)
}

/// Runs SQL as the test server's superuser in the database at `url` (a test's own); the rows'
/// first column, as text.
pub fn postgres_sql(url: &str, sql: &str) -> Vec<Option<String>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("the test server answers");
        let task = tokio::spawn(connection);
        let mut out = Vec::new();
        for message in client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        {
            if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                out.push(row.get(0).map(str::to_string));
            }
        }
        drop(client);
        let _ = task.await;
        out
    })
}

/// A fresh, empty database on the test server: its URL.
pub fn new_postgres_database() -> String {
    let name = format!("awscreds_{}", uuid::Uuid::new_v4().simple());
    postgres_admin(&format!("CREATE DATABASE {name}"));
    postgres_url(&name)
}

/// The files of the test server's data directory that can hold `url`'s database content: its
/// own directory, the WAL and the shared catalogs, after a CHECKPOINT has written everything
/// out. `None` (after saying why) for a server that scripts/with-postgres did not start.
pub fn postgres_files(url: Option<&str>) -> Option<Vec<PathBuf>> {
    let Some(data) = std::env::var_os("AWSCREDS_TEST_POSTGRES_DATA") else {
        eprintln!("not checked: the data directory of AWSCREDS_TEST_POSTGRES_URL is unknown");
        return None;
    };
    let data = PathBuf::from(data);
    postgres_admin("CHECKPOINT");
    let mut dirs = vec![data.join("pg_wal"), data.join("global")];
    match url {
        Some(url) => {
            let name = url.split('?').next().unwrap().rsplit('/').next().unwrap();
            let oid = postgres_admin(&format!(
                "SELECT oid FROM pg_database WHERE datname = '{name}'"
            ));
            dirs.push(
                data.join("base")
                    .join(oid[0].clone().expect("the database exists")),
            );
        }
        None => dirs = vec![data],
    }
    Some(dirs.iter().flat_map(|d| files_under(d)).collect())
}

pub struct Env {
    pub dir: tempfile::TempDir,
    /// The `--db` value: a SQLite path, or (on PostgreSQL) the database's URL.
    pub db: PathBuf,
    pub vars: Vec<(String, String)>,
    /// Files the test itself wrote (`Env::file`), which may hold what it chose to.
    written: std::cell::RefCell<Vec<PathBuf>>,
}

/// Every test checks, when its Env goes, that no file awscreds left in its directory (the
/// database and what is beside it, audit logs, key files) holds the root secret keys it was
/// given in the clear.
impl Drop for Env {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let mut secrets = vec![SEED_SECRET_KEY.to_string()];
        if let Some((_, admin)) = AUTH_ADMIN.get() {
            secrets.push(admin.clone());
        }
        let written = self.written.borrow();
        for file in files_under(self.dir.path()) {
            if written.contains(&file) {
                continue;
            }
            let bytes = std::fs::read(&file).unwrap_or_default();
            for secret in &secrets {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{} holds a root secret key in the clear",
                    file.display()
                );
            }
        }
        if postgres() {
            let name = self.db.display().to_string();
            let name = name.split('?').next().unwrap().rsplit('/').next().unwrap();
            postgres_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = if postgres() {
            PathBuf::from(new_postgres_database())
        } else {
            dir.path().join("state").join("awscreds.db")
        };
        Env {
            dir,
            db,
            vars: Vec::new(),
            written: Default::default(),
        }
    }

    /// Mount `aws` and point its root configuration at the emulator.
    #[track_caller]
    pub fn configured() -> Env {
        Env::at(&endpoint(), &[])
    }

    /// A configured mount `aws` with `roles` written (the seed's policy).
    #[track_caller]
    pub fn with_roles(roles: &[&str]) -> Env {
        Env::at(&endpoint(), roles)
    }

    /// A mount `aws` whose IAM and STS calls go to `endpoint` (a proxy, say), with `roles`
    /// written (the seed's policy).
    #[track_caller]
    pub fn at(endpoint: &str, roles: &[&str]) -> Env {
        let env = Env::new();
        env.configure_at("aws", endpoint);
        for role in roles {
            env.role(&format!("aws/roles/{role}"));
        }
        env
    }

    #[track_caller]
    pub fn configure(&self, mount: &str) {
        self.configure_at(mount, &endpoint());
    }

    #[track_caller]
    fn configure_at(&self, mount: &str, endpoint: &str) {
        if mount == "aws" {
            self.run(["mount", "aws"]).ok();
        } else {
            self.run(["mount", "aws", "--path", mount]).ok();
        }
        self.run([
            "write",
            &format!("{mount}/config/root"),
            &format!("access_key={SEED_ACCESS_KEY}"),
            &format!("secret_key={SEED_SECRET_KEY}"),
            "region=us-east-1",
            &format!("iam_endpoint={endpoint}"),
            &format!("sts_endpoint={endpoint}"),
        ])
        .ok();
    }

    /// Points the mount `aws` at another IAM endpoint (an unreachable one, say); the rest of
    /// its configuration stays, since writes to config/root merge.
    #[track_caller]
    pub fn point_iam_at(&self, endpoint: &str) {
        self.run([
            "write",
            "aws/config/root",
            &format!("iam_endpoint={endpoint}"),
        ])
        .ok();
    }

    /// Writes a role with the seed's policy.
    #[track_caller]
    pub fn role(&self, path: &str) {
        let policy = self.file("policy.json", SEED_POLICY);
        self.run(["write", path, &format!("policy=@{policy}")]).ok();
    }

    pub fn with_var(mut self, key: &str, value: &str) -> Env {
        self.vars.push((key.into(), value.into()));
        self
    }

    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        self.written.borrow_mut().push(path.clone());
        path.display().to_string()
    }

    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.program(BIN, args)
    }

    /// Starts awscreds in the background (stdin closed, output captured); see [`finish`].
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Another program (the AWS CLI, python) in this test's environment: its HOME, database and
    /// variables, nothing from the machine's AWS settings.
    pub fn program<I, S>(&self, program: &str, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(self.dir.path());
        // Nothing from the machine running the tests: no AWS settings, no profile files.
        for (key, _) in std::env::vars() {
            if key.starts_with("AWS_") || key.starts_with("AWSCREDS_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("HOME", self.dir.path())
            .env("AWSCREDS_DB", &self.db)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (key, value) in &self.vars {
            cmd.env(key, value);
        }
        cmd
    }

    #[track_caller]
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.run_with_stdin(args, "")
    }

    #[track_caller]
    pub fn run_with_stdin<I, S>(&self, args: I, stdin: &str) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.command(args);
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        Run::new(
            shown,
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    /// Issues credentials and returns (lease_id, access_key).
    #[track_caller]
    pub fn issue(&self, path: &str) -> (String, String) {
        let run = self.run(["read", path, "-format=json"]).ok();
        let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        (
            v["lease_id"].as_str().unwrap().to_string(),
            v["data"]["access_key"].as_str().unwrap().to_string(),
        )
    }

    /// awscreds' state, seen through its own store (never SQL). Panics if nothing was stored.
    pub fn state(&self) -> State {
        State::open(&self.db.display().to_string()).expect("the database exists")
    }

    /// The leases in the database, by id.
    pub fn leases(&self) -> Vec<LeaseRow> {
        let Some(state) = State::open(&self.db.display().to_string()) else {
            return Vec::new();
        };
        state
            .leases()
            .into_iter()
            .map(|l| LeaseRow {
                id: l.id,
                iam_user: l.iam_user,
                state: l.state.as_str().to_string(),
                access_key_id: l.access_key_id,
                attempts: l.attempts,
                last_error: l.last_error,
            })
            .collect()
    }

    /// Fails if `secret` appears, in the clear, in any file awscreds keeps: the database, its
    /// WAL and shared memory, the seal key file, the lock files (everything beside the database).
    #[track_caller]
    pub fn assert_no_secret_in_files(&self, secret: &str) {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        if postgres() {
            match postgres_files(Some(&self.db.display().to_string())) {
                Some(found) => files = found,
                None => return,
            }
        } else {
            walk(self.db.parent().unwrap(), &mut files);
        }
        assert!(!files.is_empty(), "no files beside {}", self.db.display());
        for file in files {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds a secret in the clear",
                file.display()
            );
        }
    }

    /// Deletes a lease row behind awscreds' back, as a database restored from an old backup
    /// would lose it; returns the IAM user the lease named.
    pub fn lose_lease(&self, id: &str) -> String {
        let user = self.state().lease(id).expect("the lease exists").iam_user;
        self.state().delete_lease(id);
        user
    }

    /// A mount `aws` on the signature-checking emulator whose root keys are its
    /// administrator's: a credential issued there works only if the root secret came out of the
    /// seal intact, and its own keys are checked when programs use them.
    pub fn on_auth_emulator(region: &str) -> Env {
        let env = Env::new();
        let (access, secret) = auth_admin();
        env.run(["mount", "aws"]).ok();
        env.run([
            "write",
            "aws/config/root",
            &format!("access_key={access}"),
            &format!("secret_key={secret}"),
            &format!("region={region}"),
            &format!("iam_endpoint={}", auth_endpoint()),
            &format!("sts_endpoint={}", auth_endpoint()),
        ])
        .ok();
        env
    }

    /// Everything stored, to check that a failed command changed nothing.
    pub fn dump(&self) -> String {
        State::open(&self.db.display().to_string())
            .map(|s| s.dump())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub id: String,
    pub iam_user: String,
    pub state: String,
    pub access_key_id: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// One run of the binary. Checks by default: a `Run` that is dropped without the test saying
/// otherwise asserts that awscreds exited 0 and printed nothing on stderr. `.fails(n)` or
/// `.killed()` state another exit status; `.stderr_has`, `.stderr_is`,
/// `.one_line_error`, `.warns`, `.stderr_any()` or `.checks_stderr()` say what stderr may hold.
/// Nothing is checked on drop while the test is already panicking.
pub struct Run {
    pub cmd: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Where the test ran the command, for the checks made on drop (which have no caller).
    at: &'static Location<'static>,
    status_expected: bool,
    /// A cell, so that a helper taking `&Run` can say it checks stderr itself.
    stderr_expected: Cell<bool>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("at", &format_args!("{}", self.at))
            .field("cmd", &self.cmd)
            .field("code", &self.code)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        // The test has failed already: a second panic would only hide its message.
        if std::thread::panicking() {
            return;
        }
        if !self.status_expected {
            assert_eq!(
                self.code, 0,
                "expected success (say .fails(N) if the test expects a failure): {self:#?}"
            );
        }
        if !self.stderr_expected.get() {
            assert!(
                self.stderr.is_empty(),
                "expected nothing on stderr (say .stderr_has(..), .warns(..) or .stderr_any() \
                 if the test expects something there): {self:#?}"
            );
        }
    }
}

impl Run {
    /// The outcome of a command the test ran itself (`Env::command`); checked on drop like any.
    #[track_caller]
    pub fn new(cmd: String, code: i32, stdout: String, stderr: String) -> Run {
        Run {
            cmd,
            code,
            stdout,
            stderr,
            at: Location::caller(),
            status_expected: false,
            stderr_expected: Cell::new(false),
        }
    }

    #[track_caller]
    pub fn ok(mut self) -> Run {
        self.status_expected = true;
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    #[track_caller]
    pub fn fails(mut self, code: i32) -> Run {
        self.status_expected = true;
        assert_eq!(self.code, code, "expected exit {code}: {self:#?}");
        self
    }

    /// Killed by a signal (the test killed it), so no exit status at all.
    #[track_caller]
    pub fn killed(mut self) -> Run {
        self.status_expected = true;
        assert_eq!(self.code, -1, "expected death by a signal: {self:#?}");
        self
    }

    /// Stderr may hold anything, as far as the check on drop goes: the test reads `stderr`
    /// itself.
    pub fn stderr_any(self) -> Run {
        self.checks_stderr();
        self
    }

    /// The same as `stderr_any`, for a helper that takes `&Run` and checks `stderr` itself.
    pub fn checks_stderr(&self) {
        self.stderr_expected.set(true);
    }

    #[track_caller]
    pub fn stderr_is(self, want: &str) -> Run {
        self.stderr_expected.set(true);
        assert_eq!(self.stderr, want, "{self:#?}");
        self
    }

    /// Stderr holds only `warning:` lines, one of which contains `want`.
    #[track_caller]
    pub fn warns(self, want: &str) -> Run {
        self.stderr_expected.set(true);
        assert!(
            self.stderr.lines().all(|l| l.starts_with("warning: ")),
            "expected only warnings on stderr: {self:#?}"
        );
        assert!(
            self.stderr.lines().any(|l| l.contains(want)),
            "no warning has {want:?}: {self:#?}"
        );
        self
    }

    #[track_caller]
    pub fn stdout_is(self, want: &str) -> Run {
        assert_eq!(self.stdout, want, "{self:#?}");
        self
    }

    #[track_caller]
    pub fn stdout_has(self, want: &str) -> Run {
        assert!(
            self.stdout.contains(want),
            "stdout lacks {want:?}: {self:#?}"
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(self, want: &str) -> Run {
        self.stderr_expected.set(true);
        assert!(
            self.stderr.contains(want),
            "stderr lacks {want:?}: {self:#?}"
        );
        self
    }

    /// An error is one `error:` line, optionally followed by one `hint:` line.
    #[track_caller]
    pub fn one_line_error(self, message: &str) -> Run {
        self.stderr_expected.set(true);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            !lines.is_empty() && lines.len() <= 2,
            "expected one error line and an optional hint: {self:#?}"
        );
        assert_eq!(lines[0], format!("error: {message}"), "{self:#?}");
        if let Some(hint) = lines.get(1) {
            assert!(hint.starts_with("hint: "), "{self:#?}");
        }
        assert!(
            self.stdout.is_empty(),
            "nothing on stdout after an error: {self:#?}"
        );
        self
    }

    /// The rows of a `Key`/`Value` table.
    pub fn table(&self) -> BTreeMap<String, String> {
        let mut lines = self.stdout.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        assert_eq!(header, ["Key", "Value"], "{self:#?}");
        lines
            .map(|l| {
                let (k, v) = l.split_once(char::is_whitespace).unwrap();
                (k.to_string(), v.trim_start().to_string())
            })
            .collect()
    }

    /// The data rows of a table of columns (cells split on runs of 2+ spaces), after checking
    /// its header.
    #[track_caller]
    pub fn rows(&self, header: &[&str]) -> Vec<Vec<String>> {
        let cells = |line: &str| -> Vec<String> {
            line.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut lines = self.stdout.lines();
        assert_eq!(cells(lines.next().unwrap_or_default()), header, "{self:#?}");
        lines.map(cells).collect()
    }

    /// The keys of the table, in the order printed.
    pub fn table_keys(&self) -> Vec<String> {
        self.stdout
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:#?}"))
    }
}

/// An IAM user as the emulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub path: String,
    pub keys: Vec<String>,
    pub policies: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// Reads and changes IAM state behind awscreds' back, through the SDK.
pub struct Iam {
    client: Client,
    rt: tokio::runtime::Runtime,
}

impl Iam {
    pub fn new() -> Iam {
        Iam::at(&endpoint())
    }

    pub fn at(endpoint: &str) -> Iam {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .http_client(http)
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                "AKIATESTINSPECTOR000",
                "inspector-secret",
                None,
                None,
                "tests",
            ))
            .endpoint_url(endpoint)
            .build();
        Iam {
            client: Client::from_conf(config),
            rt,
        }
    }

    /// The users awscreds created for `role` (names `awscreds-<role>-<time>-<random>`).
    pub fn users_of_role(&self, role: &str) -> Vec<User> {
        let prefix = format!("awscreds-{role}-");
        let names: Vec<String> = self.rt.block_on(async {
            let out = self.client.list_users().send().await.unwrap();
            out.users()
                .iter()
                .map(|u| u.user_name().to_string())
                .filter(|n| {
                    n.strip_prefix(&prefix).is_some_and(|rest| {
                        let mut parts = rest.splitn(2, '-');
                        let time = parts.next().unwrap_or_default();
                        let random = parts.next().unwrap_or_default();
                        !time.is_empty()
                            && time.chars().all(|c| c.is_ascii_digit())
                            && random.len() == 16
                            && random.chars().all(|c| c.is_ascii_alphanumeric())
                    })
                })
                .collect()
        });
        let mut users: Vec<User> = names.iter().filter_map(|n| self.user(n)).collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        users
    }

    pub fn user(&self, name: &str) -> Option<User> {
        self.rt.block_on(async {
            let got = match self.client.get_user().user_name(name).send().await {
                Ok(got) => got,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) =>
                {
                    return None;
                }
                Err(e) => panic!("GetUser {name}: {e:?}"),
            };
            let user = got.user().unwrap();
            let keys = self
                .client
                .list_access_keys()
                .user_name(name)
                .send()
                .await
                .unwrap()
                .access_key_metadata()
                .iter()
                .map(|k| k.access_key_id().unwrap().to_string())
                .collect();
            let mut policies = BTreeMap::new();
            let listed = self
                .client
                .list_user_policies()
                .user_name(name)
                .send()
                .await
                .unwrap();
            for policy in listed.policy_names() {
                let doc = self
                    .client
                    .get_user_policy()
                    .user_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .unwrap();
                policies.insert(policy.clone(), url_decode(doc.policy_document()));
            }
            let tags = self
                .client
                .list_user_tags()
                .user_name(name)
                .send()
                .await
                .unwrap()
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            Some(User {
                name: name.to_string(),
                path: user.path().to_string(),
                keys,
                policies,
                tags,
            })
        })
    }

    /// Runs SDK calls of the test's own against the emulator.
    pub fn call<F: std::future::Future>(&self, f: impl FnOnce(&Client) -> F) -> F::Output {
        self.rt.block_on(f(&self.client))
    }

    /// Deletes a user as an administrator would, behind awscreds' back.
    pub fn delete_user(&self, name: &str) {
        let user = self.user(name).expect("user exists");
        self.rt.block_on(async {
            for key in &user.keys {
                self.client
                    .delete_access_key()
                    .user_name(name)
                    .access_key_id(key)
                    .send()
                    .await
                    .unwrap();
            }
            for policy in user.policies.keys() {
                self.client
                    .delete_user_policy()
                    .user_name(name)
                    .policy_name(policy)
                    .send()
                    .await
                    .unwrap();
            }
            self.client
                .delete_user()
                .user_name(name)
                .send()
                .await
                .unwrap();
        });
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986); the emulator may not.
fn url_decode(text: &str) -> String {
    if !text.starts_with('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

// --- the checks a `Run` makes when dropped ---

fn run_of(code: i32, stderr: &str) -> Run {
    Run::new(
        "awscreds (made up)".into(),
        code,
        String::new(),
        stderr.into(),
    )
}

#[test]
#[should_panic(expected = "expected success")]
fn a_dropped_run_checks_its_exit_status() {
    drop(run_of(1, ""));
}

#[test]
#[should_panic(expected = "expected nothing on stderr")]
fn a_dropped_run_checks_that_stderr_is_empty() {
    drop(run_of(0, "warning: something\n"));
}

#[test]
#[should_panic(expected = "expected nothing on stderr")]
fn a_failure_alone_does_not_allow_stderr() {
    drop(run_of(2, "error: x\n").fails(2));
}

#[test]
fn what_the_test_states_replaces_the_checks_on_drop() {
    drop(run_of(0, ""));
    drop(
        run_of(1, "error: x\nhint: y\n")
            .fails(1)
            .one_line_error("x"),
    );
    drop(run_of(2, "error: x\n").fails(2).stderr_has("x"));
    drop(run_of(0, "No leases\n").stderr_is("No leases\n"));
    drop(run_of(0, "warning: a\nwarning: b\n").warns("b"));
    drop(run_of(0, "anything\n").stderr_any());
    let run = run_of(0, "hint: z\n");
    run.checks_stderr();
    drop(run);
    drop(run_of(-1, "").killed());
}

#[test]
#[should_panic(expected = "expected only warnings on stderr")]
fn warns_refuses_an_error_among_the_warnings() {
    drop(run_of(0, "warning: a\nerror: b\n").warns("a"));
}

#[test]
#[should_panic(expected = "the test's own message")]
fn a_test_that_fails_already_gets_no_second_panic_from_drop() {
    let _run = run_of(1, "error: unexpected\n");
    panic!("the test's own message");
}

// --- the signature-checking emulator, and STS ---

/// The emulator that checks signatures and IAM policies (after its first 4 calls).
pub fn auth_endpoint() -> String {
    std::env::var("AWSCREDS_TEST_AUTH_ENDPOINT").expect(
        "AWSCREDS_TEST_AUTH_ENDPOINT is not set: run the tests with scripts/test, which starts \
         the IAM emulators",
    )
}

static AUTH_ADMIN: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();

/// An administrator of the signature-checking emulator: (access key, secret key). Made once,
/// with the 4 unsigned calls that emulator allows.
pub fn auth_admin() -> &'static (String, String) {
    AUTH_ADMIN.get_or_init(|| {
        let iam = Iam::at(&auth_endpoint());
        iam.call(|c| {
            let c = c.clone();
            async move {
                c.create_user().user_name("admin").send().await.unwrap();
                let policy = c
                    .create_policy()
                    .policy_name("admin")
                    .policy_document(
                        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                    )
                    .send()
                    .await
                    .unwrap();
                c.attach_user_policy()
                    .user_name("admin")
                    .policy_arn(policy.policy().unwrap().arn().unwrap())
                    .send()
                    .await
                    .unwrap();
                let key = c.create_access_key().user_name("admin").send().await.unwrap();
                let key = key.access_key().unwrap();
                (key.access_key_id().to_string(), key.secret_access_key().to_string())
            }
        })
    })
}

impl Iam {
    /// An inspector that signs with the given key.
    pub fn with_key(endpoint: &str, access_key: &str, secret_key: &str) -> Iam {
        let mut iam = Iam::at(endpoint);
        let config = iam
            .client
            .config()
            .to_builder()
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                access_key, secret_key, None, None, "tests",
            ))
            .build();
        iam.client = Client::from_conf(config);
        iam
    }
}

/// GetCallerIdentity with the given credentials: the caller's ARN, or the error.
pub fn caller_arn(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
    session_token: Option<&str>,
) -> Result<String, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .http_client(http)
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            access_key,
            secret_key,
            session_token.map(str::to_string),
            None,
            "tests",
        ))
        .endpoint_url(endpoint)
        .build();
    let client = aws_sdk_sts::Client::from_conf(config);
    rt.block_on(async {
        match client.get_caller_identity().send().await {
            Ok(out) => Ok(out.arn().unwrap_or_default().to_string()),
            Err(e) => Err(format!("{e:?}")),
        }
    })
}

/// Waits for a process started by [`Env::spawn`] (or any with its output captured) and takes
/// what it printed as a [`Run`]; a process killed by a signal has the status -1.
#[track_caller]
pub fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run::new(
        String::new(),
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}
