use anyhow::Result;

use super::args::FormatArgs;
use super::{Context, ExitStatus, print};
use crate::output::{self, Format};

/// Find IAM users this database created that no lease knows, and with --delete remove them
///
/// Every IAM user awscreds creates carries the tag awscreds:db with this database's id and lives
/// under the IAM path /awscreds/. Such a user without a lease should never exist; if one does
/// (the database was restored from a backup, say), nothing else would ever revoke it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Delete the users found (their keys, policies and everything attached)
    #[arg(long)]
    delete: bool,
    #[command(flatten)]
    format: FormatArgs,
}

pub async fn run(args: Args, ctx: &Context) -> Result<ExitStatus> {
    let engine = ctx
        .engine_after_reaping_for(
            "tidy",
            "",
            &serde_json::Map::from_iter([("delete".into(), args.delete.into())]),
        )
        .await?;
    let report = engine.tidy(args.delete).await?;
    let format = args.format.format;
    for mount in &report.skipped {
        super::warn(&format!("{mount}/config/root is not configured; skipped"));
    }
    if report.orphans.is_empty() && format == Format::Table {
        println!("No IAM users without a lease");
        return Ok(ExitStatus::Success);
    }
    print(|out| output::orphans(out, &report.orphans, format))?;
    let failed = report
        .orphans
        .iter()
        .any(|o| matches!(o.deleted, Some(Err(_))));
    if !args.delete && !report.orphans.is_empty() {
        eprintln!("hint: awscreds tidy --delete deletes them");
    }
    Ok(if failed {
        ExitStatus::Cloud
    } else {
        ExitStatus::Success
    })
}
