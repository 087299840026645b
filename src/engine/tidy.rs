//! `awscreds tidy`: the last line of defence. It lists the IAM users that this database created
//! (tagged with its id, under /awscreds/ or any path a role of this database ever used) but that
//! no lease knows, and can delete them. Such users should not exist; if one does, nothing else
//! would ever revoke it.
//!
//! `tidy --expired` lists the users whose own deadline (the tag `awscreds:expires-at`: the issue
//! time plus lease_max) has passed, lease or no lease, and with `all_databases` those of any
//! database (its machine may be gone): users that outlived their database. A user without the
//! tag, or whose deadline is still to come, is never touched.

use super::issue::parse_expires_tag;
use super::roles::DEFAULT_USER_PATH;
use super::teardown::{Deleted, delete_iam_user};
use super::{Engine, Error, Result, TAG_DB, TAG_EXPIRES};
use crate::cloud::{Cloud, CloudError, Connector};

/// An IAM user that this database created and no lease knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub mount: String,
    pub iam_user: String,
    /// What became of it with `--delete`: `None` if not asked, else the outcome.
    pub deleted: Option<Result<(), String>>,
}

/// An IAM user past its deadline (`tidy --expired`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredUser {
    pub mount: String,
    pub iam_user: String,
    /// The id of the database that made it (its `awscreds:db` tag).
    pub db: String,
    /// Unix seconds: its `awscreds:expires-at`.
    pub expires_at: i64,
    /// What became of it with `--delete`: `None` if not asked, else the outcome.
    pub deleted: Option<Result<(), String>>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TidyReport {
    pub orphans: Vec<Orphan>,
    /// `tidy --expired`: the users past their deadline (then `orphans` is empty).
    pub expired: Vec<ExpiredUser>,
    /// Mounts without root configuration, which could not be looked at.
    pub skipped: Vec<String>,
}

/// `paths` without those under another one of them (a ListUsers of `/a/` lists `/a/b/` too).
fn outermost(mut paths: Vec<String>) -> Vec<String> {
    paths.sort();
    paths.dedup();
    let all = paths.clone();
    paths.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q.as_str())));
    paths
}

impl<C: Connector> Engine<C> {
    /// Where this database's users can be: `/awscreds/`, the `user_path` of every role of
    /// `mount`, and every path any role ever used (recorded when written).
    async fn user_paths(&self, mount: &str) -> Result<Vec<String>> {
        let mut paths = vec![DEFAULT_USER_PATH.to_string()];
        paths.extend(self.store.user_paths().await?);
        for name in self.store.role_names(mount).await? {
            let role = self.store.role(mount, &name).await?;
            let path = role.map(|r| r.user_path).unwrap_or_default();
            if !path.is_empty() {
                paths.push(path);
            }
        }
        Ok(outermost(paths))
    }

    /// The names of the users under `paths`, each once.
    async fn users_under(
        &self,
        mount: &str,
        cloud: &C::Cloud,
        paths: &[String],
    ) -> Result<Vec<String>> {
        let mut users: Vec<String> = Vec::new();
        for path in paths {
            let listing = cloud
                .list_users(path)
                .await
                .map_err(|e| Error::cloud(format!("listing IAM users for {mount}"), e))?;
            for user in listing {
                if !users.contains(&user) {
                    users.push(user);
                }
            }
        }
        Ok(users)
    }

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
            let paths = self.user_paths(&mount.path).await?;
            for user in self.users_under(&mount.path, &cloud, &paths).await? {
                // Several mounts may share an account: report each user once.
                if report.orphans.iter().any(|o| o.iam_user == user)
                    || self.store.has_user(&user).await?
                {
                    continue;
                }
                let Some(tags) = tags_unless_gone(&*cloud, &user).await? else {
                    continue;
                };
                if !tags.iter().any(|(k, v)| k == TAG_DB && *v == db_id) {
                    continue;
                }
                // Looked up again just before deciding: a lease may have been recorded meanwhile.
                if self.store.has_user(&user).await? {
                    continue;
                }
                let deleted = if delete {
                    Some(delete_user(&*cloud, &user).await)
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

    /// `tidy --expired`: finds (and with `delete`, deletes) the IAM users awscreds made whose
    /// `awscreds:expires-at` has passed: this database's (tag `awscreds:db`, under its paths), or
    /// with `all_databases` those of any database, anywhere in the account.
    pub async fn tidy_expired(&self, delete: bool, all_databases: bool) -> Result<TidyReport> {
        let db_id = self.store.db_id().await?;
        let mut report = TidyReport::default();
        for mount in self.store.mounts().await? {
            if self.store.root_config(&mount.path).await?.is_none() {
                report.skipped.push(mount.path);
                continue;
            }
            let cloud = self.cloud(&mount.path).await?;
            // Another database's roles may have used any path.
            let paths = if all_databases {
                vec!["/".to_string()]
            } else {
                self.user_paths(&mount.path).await?
            };
            for user in self.users_under(&mount.path, &cloud, &paths).await? {
                if report.expired.iter().any(|o| o.iam_user == user) {
                    continue;
                }
                let Some(tags) = tags_unless_gone(&*cloud, &user).await? else {
                    continue;
                };
                let tag = |name: &str| tags.iter().find(|(k, _)| k == name).map(|(_, v)| v);
                let Some(db) = tag(TAG_DB) else { continue };
                if !all_databases && *db != db_id {
                    continue;
                }
                let Some(expires_at) = tag(TAG_EXPIRES).and_then(|v| parse_expires_tag(v)) else {
                    continue;
                };
                // Past, not at: its credentials may be valid up to that second.
                if self.now() <= expires_at {
                    continue;
                }
                let deleted = if delete {
                    Some(delete_user(&*cloud, &user).await)
                } else {
                    None
                };
                report.expired.push(ExpiredUser {
                    mount: mount.path.clone(),
                    iam_user: user,
                    db: db.clone(),
                    expires_at,
                    deleted,
                });
            }
        }
        Ok(report)
    }
}

/// The tags of `user`; `None` when it was deleted since it was listed.
async fn tags_unless_gone(cloud: &impl Cloud, user: &str) -> Result<Option<Vec<(String, String)>>> {
    match cloud.user_tags(user).await {
        Ok(tags) => Ok(Some(tags)),
        Err(CloudError::NoSuchEntity(_)) => Ok(None),
        Err(e) => Err(Error::cloud(format!("reading the tags of {user}"), e)),
    }
}

/// Deletes a user found by tidy, with everything attached to it.
async fn delete_user(cloud: &impl Cloud, user: &str) -> Result<(), String> {
    match delete_iam_user(cloud, user, None).await {
        Ok(Deleted::Now | Deleted::AlreadyGone) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::outermost;

    #[test]
    fn paths_under_another_are_listed_with_it() {
        let paths = |list: &[&str]| outermost(list.iter().map(|p| p.to_string()).collect());
        assert_eq!(
            paths(&[
                "/awscreds/",
                "/team/x/",
                "/awscreds/ci/",
                "/team/",
                "/awscreds/"
            ]),
            ["/awscreds/", "/team/"]
        );
        assert_eq!(paths(&["/awscreds/", "/", "/a/"]), ["/"]);
        assert_eq!(
            paths(&["/awscreds/", "/awscredsx/"]),
            ["/awscreds/", "/awscredsx/"]
        );
    }
}
