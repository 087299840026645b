//! Issuing: a new credential of a role's type, and the lease that takes it back. For an IAM user,
//! [`Engine::issue_iam_user`] makes every IAM call, in order: CreateUser (with path, boundary and
//! tags: the role's, the lease id, the database id and the deadline) -> AttachUserPolicy per
//! managed policy -> PutUserPolicy -> AddUserToGroup per group -> CreateAccessKey. STS credentials are in `sts.rs`.
//!
//! Invariant: a lease row exists from before the first IAM call until the IAM user is confirmed
//! gone. Issuing takes this process's issuer token (see [`Store::issuer_token`]), records a
//! `pending` lease naming it, makes the IAM calls, then activates the lease. If a step fails the
//! command deletes what it created; if the process dies, a sweep finds the pending row and, since
//! the store can tell that its issuer is gone, cleans it up at once.
//!
//! [`Store::issuer_token`]: crate::store::Store::issuer_token

use serde_json::{Map, Value};

use super::roles::DEFAULT_USER_PATH;
use super::routes::{Route, Target};
use super::teardown::{Deleted, delete_iam_user};
use super::template::{self, IAM_LIMIT, Template};
use super::{Engine, Error, Issued, LeaseInfo, Result, Undo};
use crate::cloud::{AccessKey, Attachment, Cloud, CloudError, Connector, NewUser};
use crate::model::{Credential, CredentialType, Lease, LeaseState, Role};
use crate::params::{self, named_duration};
use crate::store::Activation;

/// How long a pending lease is left to its issuer before a sweep cleans it up, whatever it
/// knows about the issuer. Also IAM's eventual consistency window: until then a user that IAM
/// says does not exist may still appear, so "does not exist" is not trusted for a pending lease
/// younger than this (Vault waits the same five minutes before trusting NoSuchEntity).
pub const PENDING_TIMEOUT: i64 = 300;
pub const TAG_LEASE: &str = "awscreds:lease-id";
pub const TAG_DB: &str = "awscreds:db";
/// The latest instant a user's credentials may live to (issue time + `lease_max`), RFC 3339 in
/// UTC: the user carries its own deadline, for `tidy --expired` when no database knows it.
pub const TAG_EXPIRES: &str = "awscreds:expires-at";
/// How many tags of its own awscreds puts on a user ([`TAG_LEASE`], [`TAG_DB`], [`TAG_EXPIRES`]).
pub const OWN_TAGS: usize = 3;

/// The value of [`TAG_EXPIRES`] for unix seconds `at` (a tag's format, not a display).
pub(super) fn expires_tag(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The unix seconds that a [`TAG_EXPIRES`] value names; `None` when it is not RFC 3339.
pub(super) fn parse_expires_tag(value: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.timestamp())
}

/// The parameters of a credentials request (`read creds/NAME ttl=15m ...`).
#[derive(Debug, Default)]
pub(super) struct Request {
    pub ttl: Option<u64>,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub mfa_code: Option<String>,
}

impl Request {
    fn parse(data: &Map<String, Value>) -> Result<Request> {
        Ok(Request {
            ttl: params::string(data, "ttl")?
                .map(|t| named_duration("ttl", &t))
                .transpose()?,
            role_arn: params::string(data, "role_arn")?,
            role_session_name: params::string(data, "role_session_name")?,
            mfa_code: params::string(data, "mfa_code")?,
        })
    }
}

impl<C: Connector> Engine<C> {
    /// `read MOUNT/creds/NAME` (or `sts/NAME`): new credentials of the role's type.
    pub(super) async fn issue(
        &self,
        target: &Target,
        role_name: &str,
        data: &Map<String, Value>,
    ) -> Result<Issued> {
        let mount = target.mount.as_str();
        let role = self
            .store
            .role(mount, role_name)
            .await?
            .ok_or_else(|| Error::RoleNotFound {
                mount: mount.to_string(),
                role: role_name.to_string(),
            })?;
        let request = Request::parse(data)?;
        let kind = role.credential_type;
        if matches!(target.route, Route::Sts(_)) && !kind.is_sts() {
            return Err(Error::NotAnStsRole {
                mount: mount.to_string(),
                role: role_name.to_string(),
            });
        }
        let refuse = |param: &str, given: bool, allowed: &[CredentialType]| -> Result<()> {
            if given && !allowed.contains(&kind) {
                return Err(Error::input_hint(
                    format!("{param} does not apply to {} credentials", kind.as_str()),
                    match kind {
                        CredentialType::IamUser => {
                            "IAM-user leases last the mount's lease (config/lease)".to_string()
                        }
                        _ => format!("leave {param} out"),
                    },
                ));
            }
            Ok(())
        };
        use CredentialType::*;
        refuse(
            "ttl",
            request.ttl.is_some(),
            &[AssumedRole, FederationToken, SessionToken],
        )?;
        refuse("role_arn", request.role_arn.is_some(), &[AssumedRole])?;
        refuse(
            "role_session_name",
            request.role_session_name.is_some(),
            &[AssumedRole],
        )?;
        match (role.mfa_serial_number.is_empty(), &request.mfa_code) {
            (true, Some(_)) => {
                return Err(Error::input_hint(
                    format!(
                        "role \"{role_name}\" has no mfa_serial_number, so mfa_code does not apply"
                    ),
                    "leave mfa_code out",
                ));
            }
            (false, None) => {
                return Err(Error::MfaCodeRequired {
                    role: role_name.to_string(),
                    path: target.path(),
                });
            }
            _ => {}
        }
        if kind.is_sts() {
            self.issue_sts(target, &role, &request).await
        } else {
            self.issue_iam_user(target, &role).await
        }
    }

    /// An IAM user with everything the role gives it, and an access key.
    async fn issue_iam_user(&self, target: &Target, role: &Role) -> Result<Issued> {
        let mount = target.mount.as_str();
        let config = self.root_config(mount).await?;
        let lease_config = self.lease_config(mount).await?;
        let db_id = self.store.db_id().await?;
        let owner = self.store.issuer_token().await?;
        let template = name_template(&config.username_template, template::DEFAULT_IAM, IAM_LIMIT)?;

        let now = self.now();
        let name = template.render(&template::Context {
            role: &role.name,
            mount,
            kind: role.credential_type,
            now,
        });
        let mut lease = Lease {
            id: format!("{}/{}", target.path(), uuid::Uuid::new_v4()),
            mount: mount.to_string(),
            role: role.name.clone(),
            iam_user: name,
            access_key_id: None,
            state: LeaseState::Pending,
            issued_at: now,
            expires_at: now + PENDING_TIMEOUT,
            max_expires_at: now + lease_config.lease_max as i64,
            due_at: now + PENDING_TIMEOUT,
            attempts: 0,
            last_error: None,
            owner,
            attached: None,
            key_wait_ms: None,
            cached_secret: None,
            kind: CredentialType::IamUser,
        };
        // Caps are checked with the insert, atomically, before any AWS call (even the data key's
        // unwrapping, which may be KMS's).
        self.record_capped(&target.path(), &lease, role, lease_config.max_leases)
            .await?;
        let cloud = match self.cloud(mount).await {
            Ok(cloud) => cloud,
            Err(e) => {
                // Nothing was asked of IAM: the lease goes again.
                self.store.delete_lease(&lease.id).await?;
                return Err(e);
            }
        };

        let mut tags: Vec<(String, String)> = role
            .iam_tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.push((TAG_LEASE.to_string(), lease.id.clone()));
        tags.push((TAG_DB.to_string(), db_id));
        tags.push((TAG_EXPIRES.to_string(), expires_tag(lease.max_expires_at)));
        let path = if role.user_path.is_empty() {
            DEFAULT_USER_PATH
        } else {
            &role.user_path
        };
        let new_user = NewUser {
            name: &lease.iam_user,
            path,
            tags: &tags,
            permissions_boundary: Some(role.permissions_boundary_arn.as_str())
                .filter(|b| !b.is_empty()),
        };
        match cloud.create_user(&new_user).await {
            Ok(()) => {}
            // Our own earlier attempt, whose answer was lost and which the SDK retried, made it
            // if it carries this lease's tag; anybody else's user is never adopted.
            Err(e @ CloudError::AlreadyExists(_)) => {
                let ours = cloud
                    .user_tags(&lease.iam_user)
                    .await
                    .is_ok_and(|tags| tags.iter().any(|(k, v)| k == TAG_LEASE && *v == lease.id));
                if !ours {
                    return Err(self.creation_failed(&lease, e).await);
                }
            }
            Err(e) => return Err(self.creation_failed(&lease, e).await),
        }
        let mut attached = Vec::new();
        let key = match self
            .finish_user(&*cloud, &lease.iam_user, role, &mut attached)
            .await
        {
            Ok(key) => key,
            Err(e) => {
                let action = format!("setting up IAM user {}", lease.iam_user);
                let undo = self
                    .undo(&*cloud, &lease, &format!("{action}: {e}"))
                    .await?;
                return Err(Error::Cloud {
                    action,
                    cause: e,
                    after: Some(undo),
                });
            }
        };
        // Counted from now, not from the start: the caller gets the whole lease, but never past
        // issue time + lease_max.
        let activated_at = self.now();
        lease.expires_at = (activated_at + lease_config.lease as i64).min(lease.max_expires_at);
        let activation = Activation {
            access_key_id: &key.access_key_id,
            attached: &attached,
            expires_at: lease.expires_at,
        };
        let activated = self
            .store
            .activate_if_owned(&lease.id, lease.owner.as_deref(), &activation)
            .await;
        if !matches!(activated, Ok(true)) {
            // The credential was never handed out: take it back. The lease row may be gone (a
            // revocation took it meanwhile); it is recorded again first, so that if the undo
            // fails, a sweep still knows the user.
            if self.store.lease(&lease.id).await.ok().flatten().is_none() {
                let _ = self.store.insert_lease(&lease).await;
            }
            let undo = self
                .undo(&*cloud, &lease, "recording the lease failed")
                .await
                .ok();
            return Err(match activated {
                Err(e) => Error::from(e),
                _ => Error::RevokedWhileIssuing {
                    id: lease.id.clone(),
                    undo,
                },
            });
        }

        Ok(Issued {
            lease: LeaseInfo {
                // What was granted, from the same instant: a second that ticks over while the
                // activation is recorded (a database round trip away) must not make it 3599.
                duration: (lease.expires_at - activated_at).max(0) as u64,
                id: lease.id,
                renewable: true,
            },
            kind: CredentialType::IamUser,
            region: crate::cloud::region(&config),
            credential: Credential {
                access_key_id: key.access_key_id,
                secret_access_key: key.secret_access_key,
                session_token: None,
                expires_at: lease.expires_at,
                arn: None,
            },
            warnings: Vec::new(),
        })
    }

    /// After CreateUser: managed policies, the inline policy, groups, then the access key.
    /// `attached` collects what was attached, for the lease record.
    async fn finish_user(
        &self,
        cloud: &C::Cloud,
        user: &str,
        role: &Role,
        attached: &mut Vec<(Attachment, String)>,
    ) -> std::result::Result<AccessKey, CloudError> {
        for arn in &role.policy_arns {
            cloud.attach(user, Attachment::ManagedPolicy, arn).await?;
            attached.push((Attachment::ManagedPolicy, arn.clone()));
        }
        if !role.policy_document.is_empty() {
            cloud
                .put_user_policy(user, &role.name, &role.policy_document)
                .await?;
            attached.push((Attachment::InlinePolicy, role.name.clone()));
        }
        for group in &role.iam_groups {
            cloud.attach(user, Attachment::Group, group).await?;
            attached.push((Attachment::Group, group.clone()));
        }
        let key = cloud.create_access_key(user).await?;
        attached.push((Attachment::AccessKey, key.access_key_id.clone()));
        Ok(key)
    }

    /// CreateUser failed. A definite refusal created nothing, so the lease row goes; an error that
    /// leaves it unknown whether the user exists (a timeout, a dropped connection, a 5xx) keeps
    /// the row pending for a sweep to settle.
    async fn creation_failed(&self, lease: &Lease, error: CloudError) -> Error {
        let action = format!("creating IAM user {}", lease.iam_user);
        // Only a refusal of the request itself proves that no attempt created the user.
        let definite = error.proves_nothing_done();
        let stored = if definite {
            self.store.delete_lease(&lease.id).await
        } else {
            let why = format!("{action}: {error}");
            self.store
                .record_failure(&lease.id, &why, lease.due_at)
                .await
        };
        if let Err(e) = stored {
            return e.into();
        }
        Error::Cloud {
            action,
            cause: error,
            after: (!definite).then_some(Undo::LeftPending),
        }
    }

    /// A step after CreateUser failed: delete what was created and the lease with it. If that
    /// fails too, the pending lease stays, marked with `why`, and a sweep retries once this
    /// process is gone. Returns which of the two happened.
    async fn undo(&self, cloud: &C::Cloud, lease: &Lease, why: &str) -> Result<Undo> {
        match delete_iam_user(cloud, &lease.iam_user, None).await {
            Ok(Deleted::Now) => {
                self.store.delete_lease(&lease.id).await?;
                Ok(Undo::RolledBack)
            }
            // Just created, so "does not exist" is IAM's eventual consistency: keep the lease.
            Ok(Deleted::AlreadyGone) | Err(_) => {
                let why = format!("{why}; cleanup pending");
                self.store
                    .record_failure(&lease.id, &why, lease.due_at)
                    .await?;
                Ok(Undo::CleanupPending)
            }
        }
    }
}

/// Whether credentials of `kind` come with the field `name`.
pub(super) fn returns(kind: CredentialType, name: &str) -> bool {
    match name {
        "session_token" | "expiration" | "ttl" => kind.is_sts(),
        "arn" => matches!(
            kind,
            CredentialType::AssumedRole | CredentialType::FederationToken
        ),
        _ => true,
    }
}

/// The template in `text`, or `default` when it is empty.
pub(super) fn name_template(text: &str, default: &str, limit: usize) -> Result<Template> {
    let text = if text.is_empty() { default } else { text };
    Template::parse(text, limit, "name template")
}

#[cfg(test)]
mod tests {
    use super::{expires_tag, parse_expires_tag};

    #[test]
    fn the_deadline_tag_is_rfc_3339_in_utc_and_reads_back() {
        assert_eq!(expires_tag(0), "1970-01-01T00:00:00Z");
        assert_eq!(expires_tag(1_796_169_131), "2026-12-01T23:52:11Z");
        assert_eq!(
            parse_expires_tag("2026-12-01T23:52:11Z"),
            Some(1_796_169_131)
        );
        assert_eq!(
            parse_expires_tag("2026-12-02T00:52:11+01:00"),
            Some(1_796_169_131)
        );
        assert_eq!(parse_expires_tag("tomorrow"), None);
        assert_eq!(parse_expires_tag(""), None);
    }
}
