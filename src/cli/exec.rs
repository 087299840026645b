use std::ffi::OsString;
use std::time::Duration;

use anyhow::Result;
use rustix::process::{Pid, Signal, kill_process};
use tokio::signal::unix::{SignalKind, signal};

use super::args::{WaitArgs, parse_duration};
use super::{CliEngine, Context, ExitStatus, wait_for_key, warn};
use crate::engine::{Error, Issued, Read};
use crate::env::EnvVars;
use crate::output::{Record, credentials, timestamp};
use crate::params::kv;

/// Run a command with new credentials, and take them back when it ends
///
/// Issues credentials for PATH (as `read` would), waits until a new IAM access key works, runs
/// COMMAND with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for STS),
/// AWS_CREDENTIAL_EXPIRATION, AWS_REGION, AWS_DEFAULT_REGION and AWSCREDS_LEASE_ID set (and
/// AWS_PROFILE and the other variables that would pick other credentials removed), forwards
/// SIGINT, SIGTERM, SIGHUP and SIGQUIT to it, renews an IAM-user lease while it runs (up to
/// lease_max), revokes the lease when it exits, and exits with its status (128 + the signal
/// that killed it). Example: `awscreds exec deploy -- terraform apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The credentials: ROLE (aws/creds/ROLE), creds/ROLE, MOUNT/creds/ROLE or sts/ROLE
    path: String,
    /// Parameters as KEY=VALUE, as for read (role_arn=..., ttl=...)
    #[arg(value_name = "KEY=VALUE")]
    data: Vec<String>,
    /// TTL of STS credentials (the same as ttl=D)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    ttl: Option<u64>,
    #[command(flatten)]
    wait: WaitArgs,
    /// Allow running inside another awscreds exec (whose credentials might then be the root
    /// credentials of this one)
    #[arg(long)]
    nested: bool,
    /// The command to run, after --
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// `deploy` means `creds/deploy`; anything with a slash is a path.
pub(super) fn credentials_path(path: &str) -> String {
    if path.contains('/') {
        path.to_string()
    } else {
        format!("creds/{path}")
    }
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    if let Some(outer) = std::env::var_os(EnvVars::AWSCREDS_LEASE_ID).filter(|_| !args.nested) {
        return Err(Error::input_hint(
            format!(
                "awscreds exec inside awscreds exec (lease {})",
                outer.to_string_lossy()
            ),
            "the root credentials might come from the outer lease; add --nested if that is meant",
        )
        .into());
    }
    let path = credentials_path(&args.path);
    let mut data = kv::parse(&args.data, &mut std::io::stdin()).map_err(Error::from)?;
    if let Some(ttl) = args.ttl {
        data.insert("ttl".into(), ttl.to_string().into());
    }
    let engine = ctx.engine_after_reaping_for("exec", &path, &data).await?;
    engine.check_issues(&path).await?;
    let Read::Issued(issued) = engine.read(&path, &data).await? else {
        unreachable!("check_issues: the path issues credentials");
    };
    for warning in &issued.warnings {
        warn(&warning.to_string());
    }
    ctx.respond(&Record::issued(&issued));
    // The lease runs from now: its first renewal is timed from here, not from after the wait
    // for the key (which may take seconds).
    let issued_at = tokio::time::Instant::now();
    let outcome = match wait_for_key(&engine, &issued, &args.wait, true).await {
        Ok(()) => supervise(&engine, &issued, issued_at, &args.command).await,
        Err(e) => Err(e),
    };
    take_back(ctx, &engine, &issued).await;
    outcome
}

/// Runs the program to its end; renews the lease meanwhile.
async fn supervise(
    engine: &CliEngine,
    issued: &Issued,
    issued_at: tokio::time::Instant,
    command: &[OsString],
) -> Result<ExitStatus> {
    let mut cmd = tokio::process::Command::new(&command[0]);
    cmd.args(&command[1..]);
    for name in EnvVars::EXEC_REMOVED {
        cmd.env_remove(name);
    }
    for (name, value) in credentials::variables(issued) {
        cmd.env(name, value);
    }
    // Before the program starts: a signal that arrives at once must reach it too, not end
    // awscreds and leave it running with credentials nobody revokes.
    let mut signals = Vec::new();
    for (kind, sig) in [
        (SignalKind::interrupt(), Signal::INT),
        (SignalKind::terminate(), Signal::TERM),
        (SignalKind::hangup(), Signal::HUP),
        (SignalKind::quit(), Signal::QUIT),
    ] {
        signals.push((signal(kind)?, sig));
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            // The shell's exit codes: 127 not found, 126 not runnable.
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let reason = match e.kind() {
                std::io::ErrorKind::NotFound => "command not found".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                _ => e.to_string(),
            };
            return Err(Error::CannotRun {
                command: command[0].to_string_lossy().into_owned(),
                reason,
                code,
            }
            .into());
        }
    };
    let pid = child.id().and_then(|id| Pid::from_raw(id as i32));
    let mut renew_at = renewal_time(issued_at, issued.lease.renewable, issued.lease.duration);
    let status = loop {
        let renew = async {
            match renew_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let [(int, _), (term, _), (hup, _), (quit, _)] = &mut signals[..] else {
            unreachable!("four signals");
        };
        let forward = tokio::select! {
            status = child.wait() => break status?,
            _ = int.recv() => Signal::INT,
            _ = term.recv() => Signal::TERM,
            _ = hup.recv() => Signal::HUP,
            _ = quit.recv() => Signal::QUIT,
            () = renew => {
                renew_at = renew_lease(engine, issued).await;
                continue;
            }
        };
        if let Some(pid) = pid {
            let _ = kill_process(pid, forward);
        }
    };
    use std::os::unix::process::ExitStatusExt;
    Ok(ExitStatus::Child(match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => (128 + signal) as u8,
        (None, None) => 1,
    }))
}

/// When to renew a lease of `duration` seconds from `from`: with a third of it left. A lease
/// ends on a whole second, so up to a second before `duration` from then: that second is taken
/// off, as long as a third of the lease is still waited.
fn renewal_time(
    from: tokio::time::Instant,
    renewable: bool,
    duration: u64,
) -> Option<tokio::time::Instant> {
    renewable.then(|| from + renewal_wait(duration))
}

fn renewal_wait(duration: u64) -> Duration {
    let ms = duration.saturating_mul(1000);
    Duration::from_millis((ms - ms / 3).saturating_sub(1000).max(ms / 3))
}

async fn renew_lease(engine: &CliEngine, issued: &Issued) -> Option<tokio::time::Instant> {
    match engine.renew(&issued.lease.id, None).await {
        Ok((info, warning)) => {
            if warning.is_some() || !info.renewable {
                warn(&format!(
                    "lease {} reached its maximum (lease_max); the credentials stop working in \
                     {}",
                    issued.lease.id,
                    crate::params::duration::format(info.duration)
                ));
            }
            renewal_time(tokio::time::Instant::now(), info.renewable, info.duration)
        }
        Err(e) => {
            warn(&format!(
                "could not renew lease {}: {}",
                issued.lease.id,
                e.chain()
            ));
            None
        }
    }
}

/// Revokes the lease now that the program is done; STS credentials cannot be recalled.
async fn take_back(ctx: &Context, engine: &CliEngine, issued: &Issued) {
    match engine.revoke_id(&issued.lease.id, false).await {
        Ok(lease) => {
            ctx.revoked(std::slice::from_ref(&lease.id));
            if lease.kind.is_sts() {
                eprintln!(
                    "note: lease {} is closed, but its {} credentials cannot be recalled at AWS \
                     and stay valid until {}",
                    lease.id,
                    lease.kind.as_str(),
                    timestamp(lease.expires_at)
                );
            }
        }
        Err(e) => warn(&format!(
            "could not revoke lease {}: {}; awscreds sweep retries it",
            issued.lease.id,
            e.chain()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::renewal_wait;
    use std::time::Duration;

    #[test]
    fn a_lease_is_renewed_with_a_third_left_and_a_second_to_spare() {
        let secs = |s: f64| Duration::from_secs_f64(s);
        // An hour: at 40 minutes, less the second its whole-second end may come sooner.
        assert_eq!(renewal_wait(3600), secs(2399.0));
        // 3 s: the lease may end 2 s from now, so at 1 s, not 2.
        assert_eq!(renewal_wait(3), secs(1.0));
        // Short leases still wait a third of their length.
        assert_eq!(renewal_wait(1), Duration::from_millis(333));
        assert_eq!(renewal_wait(0), Duration::ZERO);
    }
}
