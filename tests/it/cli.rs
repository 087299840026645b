//! The command line itself: help, output formats, the database location, and the generated
//! completions and man page.

use std::os::unix::fs::PermissionsExt;

use crate::support::*;

#[test]
fn help_for_the_backend_lists_every_path() {
    let run = Env::new().run(["help", "aws"]).ok();
    assert!(run.stdout.starts_with("## DESCRIPTION\n"), "{run:#?}");
    for route in [
        "^config/root$",
        "^config/lease$",
        "^roles/?$",
        "^roles/(?P<name>",
        "^creds/(?P<name>",
    ] {
        assert!(run.stdout.contains(route), "{route}: {run:#?}");
    }
}

#[test]
fn help_for_a_path_shows_its_route_and_parameters() {
    let env = Env::new();
    let run = env.run(["help", "aws/roles/deploy"]).ok();
    assert!(
        run.stdout
            .starts_with("Request:        roles/deploy\nMatching Route: ^roles/")
    );
    assert!(run.stdout.contains("## PARAMETERS"));
    assert!(run.stdout.contains("    policy (string)"));
    let run = env.run(["help", "aws/creds"]).ok();
    assert!(run.stdout.contains("Matching Route: ^creds/"));
    assert!(
        run.stdout
            .contains("\n\nGenerate credentials for a specific role.\n\n"),
        "{run:#?}"
    );
    env.run(["help", "aws/nothing/here"])
        .fails(1)
        .one_line_error("no route \"aws/nothing/here\"");
    // Help needs no database.
    assert!(!env.db.exists());
}

#[test]
fn help_for_commands_is_clap_help() {
    let env = Env::new();
    let run = env.run(["help"]).ok();
    for command in [
        "mount", "mounts", "unmount", "read", "write", "delete", "list", "sweep", "help",
    ] {
        assert!(
            run.stdout.contains(&format!("  {command}")),
            "{command}: {run:#?}"
        );
    }
    env.run(["help", "write"]).ok().stdout_has("KEY=VALUE");
    env.run(["read", "--help"]).ok().stdout_has("--field");
    env.run(["--version"]).ok().stdout_has("awscreds ");
    env.run(["frobnicate"])
        .fails(1)
        .stderr_has("unrecognized subcommand");
}

#[test]
fn the_database_is_private_and_can_be_moved() {
    if sqlite_only("the modes of the database's file, and moving it") {
        return;
    }
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.db), 0o600);
    assert_eq!(mode(env.db.parent().unwrap()), 0o700);

    // --db wins over AWSCREDS_DB.
    let other = env.dir.path().join("other/db.sqlite");
    env.run([
        "--db",
        other.to_str().unwrap(),
        "mount",
        "aws",
        "--path",
        "elsewhere",
    ])
    .ok();
    let listed = env.run(["mounts", "-format=json"]).ok().json();
    assert!(listed.get("aws/").is_some() && listed.get("elsewhere/").is_none());
    let listed = env
        .run(["mounts", "--db", other.to_str().unwrap(), "-format=json"])
        .ok()
        .json();
    assert!(listed.get("elsewhere/").is_some() && listed.get("aws/").is_none());
    assert_eq!(mode(&other), 0o600);
}

#[test]
fn the_default_database_lives_in_the_data_directory() {
    let env = Env::new();
    let mut cmd = env.command(["mount", "aws"]);
    cmd.env_remove("AWSCREDS_DB")
        .env("XDG_DATA_HOME", env.dir.path().join("xdg"));
    assert!(cmd.status().unwrap().success());
    let db = env.dir.path().join("xdg/awscreds/awscreds.db");
    assert!(db.exists(), "{db:?}");
}

/// Completions and the man page are generated from the clap definition and committed; this fails
/// when they are stale. Regenerate with `AWSCREDS_BLESS=1 scripts/test generated`.
#[test]
fn generated_completions_and_man_page_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("AWSCREDS_BLESS").is_some();
    let mut stale = Vec::new();
    for (path, contents) in generated() {
        let path = root.join(path);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &contents).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&contents[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale: {stale:?}; regenerate with AWSCREDS_BLESS=1 scripts/test generated"
    );
}

fn generated() -> Vec<(&'static str, Vec<u8>)> {
    use clap_complete::Shell;
    let mut out = Vec::new();
    for (shell, path) in [
        (Shell::Bash, "completions/awscreds.bash"),
        (Shell::Zsh, "completions/_awscreds"),
        (Shell::Fish, "completions/awscreds.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut awscreds::cli::command(), "awscreds", &mut buf);
        out.push((path, buf));
    }
    let mut man = Vec::new();
    clap_mangen::Man::new(awscreds::cli::command())
        .render(&mut man)
        .unwrap();
    out.push(("man/awscreds.1", man));
    out
}

/// On a terminal, a missing secret_key is prompted for, without echo. `script` (util-linux) gives
/// the command a pseudo-terminal and types the answer into it.
#[test]
fn a_missing_secret_key_is_prompted_for_on_a_terminal() {
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    let command = format!("{BIN} write aws/config/root access_key=AKIAPROMPT region=us-east-1");
    // The harness's environment, applied to `script` instead of awscreds.
    let harness = env.command::<[&str; 0], &str>([]);
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &command, "/dev/null"]);
    for (key, value) in harness.get_envs() {
        match value {
            Some(v) => script.env(key, v),
            None => script.env_remove(key),
        };
    }
    let mut child = script
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    // Type only once the prompt is up: the terminal echoes what is typed before that.
    let mut stdout = child.stdout.take().unwrap();
    let screen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let screen = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            use std::io::Read as _;
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !String::from_utf8_lossy(&screen.lock().unwrap()).contains("secret_key: ") {
        assert!(std::time::Instant::now() < deadline, "no prompt appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The prompt is printed before echo is turned off (and typed-ahead input flushed): give the
    // prompting process a moment to get there, on a loaded machine too.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut stdin = child.stdin.take().unwrap();
    use std::io::Write as _;
    stdin.write_all(b"typed-secret\r").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let screen = String::from_utf8_lossy(&screen.lock().unwrap()).to_string();
            panic!("the prompt never took the typed secret: {screen}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(stdin);
    reader.join().unwrap();
    let screen = String::from_utf8_lossy(&screen.lock().unwrap()).to_string();
    assert!(status.success(), "{screen}");
    assert!(
        screen.contains("Success! Data written to: aws/config/root"),
        "{screen}"
    );
    assert!(
        !screen.contains("typed-secret"),
        "the secret was echoed: {screen}"
    );
    let table = env.run(["read", "aws/config/root"]).ok().table();
    assert_eq!(table["access_key"], "AKIAPROMPT");
    // Stored sealed: not in the clear anywhere in the database's files.
    let stored = env.state().root_config("aws").unwrap();
    assert!(!stored.sealed_secret_key.is_empty());
    assert!(stored.legacy_secret_key.is_empty());
    env.assert_no_secret_in_files("typed-secret");
}
