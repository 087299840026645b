//! `awscreds tidy`: the last line of defence. It lists the IAM users that this database created
//! (tagged with its id, under the awscreds IAM path) but that no lease knows, and can delete them.
//! Such users should not exist; if one does, nothing else would ever revoke it.

use super::roles::DEFAULT_USER_PATH;
use super::teardown::{Deleted, delete_iam_user};
use super::{Engine, Error, Result, TAG_DB};
use crate::cloud::{Cloud, CloudError, Connector};

/// An IAM user that this database created and no lease knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub mount: String,
    pub iam_user: String,
    /// What became of it with `--delete`: `None` if not asked, else the outcome.
    pub deleted: Option<Result<(), String>>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TidyReport {
    pub orphans: Vec<Orphan>,
    /// Mounts without root configuration, which could not be looked at.
    pub skipped: Vec<String>,
}

impl<C: Connector> Engine<C> {
    /// Finds (and with `delete`, deletes) this database's IAM users that no lease knows, in the
    /// account of every configured mount.
    pub async fn tidy(&self, delete: bool) -> Result<TidyReport> {
        let db_id = self.store.db_id().await?;
        let mut report = TidyReport::default();
        for mount in self.store.mounts().await? {
            if self.store.root_config(&mount.path).await?.is_none() {
                report.skipped.push(mount.path);
                continue;
            }
            let cloud = self.cloud(&mount.path).await?;
            // Where this mount's roles put their users: /awscreds/ unless a role says otherwise.
            let mut paths = vec![DEFAULT_USER_PATH.to_string()];
            for name in self.store.role_names(&mount.path).await? {
                let role = self.store.role(&mount.path, &name).await?;
                let path = role.map(|r| r.user_path).unwrap_or_default();
                if !path.is_empty() && !paths.contains(&path) {
                    paths.push(path);
                }
            }
            let mut users: Vec<String> = Vec::new();
            for path in &paths {
                let listing = cloud.list_users(path).await.map_err(|e| {
                    Error::cloud(format!("listing IAM users for {}", mount.path), e)
                })?;
                for user in listing {
                    if !users.contains(&user) {
                        users.push(user);
                    }
                }
            }
            for user in users {
                // Several mounts may share an account: report each user once.
                if report.orphans.iter().any(|o| o.iam_user == user)
                    || self.store.has_user(&user).await?
                {
                    continue;
                }
                let tags = match cloud.user_tags(&user).await {
                    Ok(tags) => tags,
                    Err(CloudError::NoSuchEntity(_)) => continue,
                    Err(e) => return Err(Error::cloud(format!("reading the tags of {user}"), e)),
                };
                if !tags.iter().any(|(k, v)| k == TAG_DB && *v == db_id) {
                    continue;
                }
                // Looked up again just before deciding: a lease may have been recorded meanwhile.
                if self.store.has_user(&user).await? {
                    continue;
                }
                let deleted = if delete {
                    Some(match delete_iam_user(&*cloud, &user, None).await {
                        Ok(Deleted::Now | Deleted::AlreadyGone) => Ok(()),
                        Err(e) => Err(e.to_string()),
                    })
                } else {
                    None
                };
                report.orphans.push(Orphan {
                    mount: mount.path.clone(),
                    iam_user: user,
                    deleted,
                });
            }
        }
        Ok(report)
    }
}
