use anyhow::Result;

use super::args::FormatArgs;
use super::{Context, ExitStatus, print};
use crate::output::{self, Format};

/// Find IAM users this database created that no lease knows, and with --delete remove them
///
/// Every IAM user awscreds creates carries the tag awscreds:db with this database's id and lives
/// under the IAM path /awscreds/ or a role's user_path (every path a role of this database ever
/// used is looked under, even once the role is gone). Such a user without a lease should never
/// exist; if one does (the database was restored from a backup, say), nothing else would ever
/// revoke it.
///
/// With --expired it lists instead the users whose own deadline has passed (the tag
/// awscreds:expires-at, issue time + lease_max), lease or no lease; with --all-databases those of
/// every database, anywhere in the account (a CI machine's database that died with it, say). A
/// user without that tag, or whose deadline is still to come, is never touched.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Delete the users found (their keys, policies and everything attached)
    #[arg(long)]
    delete: bool,
    /// Find the users past their awscreds:expires-at deadline instead
    #[arg(long)]
    expired: bool,
    /// With --expired: the users of any database, not only this one's
    #[arg(long, requires = "expired")]
    all_databases: bool,
    #[command(flatten)]
    format: FormatArgs,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx
        .engine_after_reaping_for(
            "tidy",
            "",
            &serde_json::Map::from_iter([
                ("delete".into(), args.delete.into()),
                ("expired".into(), args.expired.into()),
                ("all_databases".into(), args.all_databases.into()),
            ]),
        )
        .await?;
    let report = if args.expired {
        engine.tidy_expired(args.delete, args.all_databases).await?
    } else {
        engine.tidy(args.delete).await?
    };
    let format = args.format.format;
    for mount in &report.skipped {
        super::warn(&format!("{mount}/config/root is not configured; skipped"));
    }
    let (found, failed) = if args.expired {
        let failed = report
            .expired
            .iter()
            .any(|o| matches!(o.deleted, Some(Err(_))));
        (report.expired.len(), failed)
    } else {
        let failed = report
            .orphans
            .iter()
            .any(|o| matches!(o.deleted, Some(Err(_))));
        (report.orphans.len(), failed)
    };
    if found == 0 && format == Format::Table {
        println!(
            "{}",
            if args.expired {
                "No expired IAM users"
            } else {
                "No IAM users without a lease"
            }
        );
        return Ok(ExitStatus::Success);
    }
    if args.expired {
        print(|out| output::expired_users(out, &report.expired, format))?;
    } else {
        print(|out| output::orphans(out, &report.orphans, format))?;
    }
    if !args.delete && found > 0 {
        let mut again = vec!["awscreds tidy"];
        if args.expired {
            again.push("--expired");
        }
        if args.all_databases {
            again.push("--all-databases");
        }
        again.push("--delete");
        eprintln!("hint: {} deletes them", again.join(" "));
    }
    Ok(if failed {
        ExitStatus::Cloud
    } else {
        ExitStatus::Success
    })
}
