//! Keys that already work: a new IAM access key is refused for a few seconds after
//! CreateAccessKey (IAM's eventual consistency; Vault's users sleep 5-15 s, Vault declined to
//! wait). The issuer can call GetCallerIdentity with the new key until STS accepts it.

use std::time::{Duration, Instant};

use super::{Engine, Error, Issued, Result};
use crate::cloud::{Cloud, CloudError, Connector};

/// The first pause between tries; each next one is half as long again, at most [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const MAX_PAUSE: Duration = Duration::from_millis(500);

/// How a wait for a new key ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyWait {
    pub waited: Duration,
    /// False: the timeout came first (the key may still work a little later).
    pub works: bool,
}

/// What STS says of a key it does not know yet.
fn not_yet(e: &CloudError) -> bool {
    matches!(e, CloudError::Refused { code, .. } if matches!(
        code.as_str(),
        "InvalidClientTokenId" | "SignatureDoesNotMatch" | "AccessDenied" | "HTTP 403"
    ))
}

impl<C: Connector> Engine<C> {
    /// Calls GetCallerIdentity with the new credential until it works, or `timeout` passes.
    /// STS credentials work at once: nothing to wait for. The time waited is recorded on the
    /// lease.
    pub async fn wait_for_key(&self, issued: &Issued, timeout: Duration) -> Result<KeyWait> {
        if issued.kind.is_sts() {
            return Ok(KeyWait {
                waited: Duration::ZERO,
                works: true,
            });
        }
        let lease = self.lease(&issued.lease.id).await?;
        let cloud = self.cloud(&lease.mount).await?;
        let start = Instant::now();
        let mut pause = FIRST_PAUSE;
        let works = loop {
            match cloud.caller_with(&issued.credential).await {
                Ok(_) => break true,
                Err(e) if not_yet(&e) => {}
                Err(e) => {
                    return Err(Error::cloud(
                        format!(
                            "checking the new access key {}",
                            issued.credential.access_key_id
                        ),
                        e,
                    ));
                }
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                break false;
            }
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 3 / 2).min(MAX_PAUSE);
        };
        let waited = start.elapsed();
        self.store
            .set_key_wait(&lease.id, waited.as_millis() as u64)
            .await?;
        Ok(KeyWait { waited, works })
    }
}
