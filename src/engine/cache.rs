//! Credentials kept for reuse, for `credential-process`: the AWS CLI and SDKs do not cache
//! process credentials across runs, so every `aws` command asks again. A lease made here keeps
//! its secret sealed in the database; it is handed out again while more than a window of it is
//! left, renewed (same keys) when it can be, and only then is a new one issued.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{Engine, Error, Issued, LeaseInfo, Read, Result};
use crate::cloud::Connector;
use crate::model::{Credential, Lease, LeaseState};
use crate::seal;

/// The secret parts of a credential, as they are sealed.
#[derive(Serialize, Deserialize)]
struct Secrets {
    secret_access_key: String,
    session_token: Option<String>,
}

impl<C: Connector> Engine<C> {
    /// For `credential-process PATH`: a kept credential of that path with more than `window`
    /// seconds left (renewed if it can be), else a new one, kept. `issue_new` is only called to
    /// make a new credential (so that the caller can wait for its key). Callers for one path take
    /// turns, so that ten at once with nothing kept make one credential.
    pub async fn reuse_or_issue(
        &self,
        path: &str,
        window: u64,
        data: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(Issued, bool)> {
        let prefix = self.cache_prefix(path).await?;
        self.store
            .hold_lock(&format!("credential-process:{prefix}"))
            .await?;
        let now = self.now();
        let kept = self.kept_leases(&prefix).await?;
        if let Some(lease) = kept.iter().find(|l| l.expires_at - now > window as i64) {
            return Ok((self.unkept(lease).await?, false));
        }
        if let Some(lease) = kept
            .iter()
            .find(|l| !l.kind.is_sts() && l.max_expires_at - now > window as i64)
            && let Ok((info, _)) = self.renew(&lease.id, None).await
            && info.duration > window
        {
            let renewed = self.lease(&lease.id).await?;
            return Ok((self.unkept(&renewed).await?, false));
        }
        let Read::Issued(issued) = self.read(path, data).await? else {
            return Err(Error::input(format!("{path} does not issue credentials")));
        };
        self.keep(&issued).await?;
        Ok((issued, true))
    }

    /// The leases kept for `credential-process` under a path, latest expiry first.
    pub async fn kept_leases(&self, prefix: &str) -> Result<Vec<Lease>> {
        let mut kept: Vec<Lease> = self
            .store
            .leases_with_prefix(prefix)
            .await?
            .into_iter()
            .filter(|l| l.cached_secret.is_some() && l.state == LeaseState::Active)
            .collect();
        kept.sort_by_key(|l| std::cmp::Reverse(l.expires_at));
        Ok(kept)
    }

    /// The lease prefix of a credentials path: `aws/creds/deploy/`.
    pub async fn cache_prefix(&self, path: &str) -> Result<String> {
        let target = self.issuing_target(path).await?;
        Ok(format!("{}/", target.path()))
    }

    async fn keep(&self, issued: &Issued) -> Result<()> {
        let secrets = Secrets {
            secret_access_key: issued.credential.secret_access_key.clone(),
            session_token: issued.credential.session_token.clone(),
        };
        let text = Zeroizing::new(serde_json::to_string(&secrets).expect("plain data"));
        let key = self.data_key().await?;
        let db_id = self.store.db_id().await?;
        let sealed = key
            .seal(
                &seal::aad_lease_secret(&db_id, &issued.lease.id),
                text.as_bytes(),
            )
            .map_err(|e| Error::Sealing {
                message: e.to_string(),
            })?;
        self.store
            .set_cached_secret(&issued.lease.id, &sealed)
            .await?;
        Ok(())
    }

    async fn unkept(&self, lease: &Lease) -> Result<Issued> {
        let key = self.data_key().await?;
        let db_id = self.store.db_id().await?;
        let sealed = lease.cached_secret.as_deref().unwrap_or_default();
        let text = key
            .open_string(&seal::aad_lease_secret(&db_id, &lease.id), sealed)
            .map_err(|_| Error::Sealing {
                message: format!("the kept secret of lease {} does not open", lease.id),
            })?;
        let secrets: Secrets = serde_json::from_str(&text).map_err(|e| Error::Sealing {
            message: format!("the kept secret of lease {} is damaged: {e}", lease.id),
        })?;
        let config = self.root_config(&lease.mount).await?;
        Ok(Issued {
            lease: LeaseInfo {
                id: lease.id.clone(),
                duration: (lease.expires_at - self.now()).max(0) as u64,
                renewable: !lease.kind.is_sts() && lease.expires_at < lease.max_expires_at,
            },
            kind: lease.kind,
            credential: Credential {
                access_key_id: lease.access_key_id.clone().unwrap_or_default(),
                secret_access_key: secrets.secret_access_key,
                session_token: secrets.session_token,
                expires_at: lease.expires_at,
                arn: None,
            },
            region: crate::cloud::region(&config),
            warnings: Vec::new(),
        })
    }
}
