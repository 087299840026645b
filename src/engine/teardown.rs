//! Deleting an IAM user, and everything that hangs off it, in the order IAM requires. Every
//! revocation and every rollback of a half-made user ends here.

use crate::cloud::{Attachment, Cloud, CloudError};

/// What deleting an IAM user found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Deleted {
    /// We deleted it.
    Now,
    /// IAM says it does not exist.
    AlreadyGone,
}

/// Removes every attachment of `kind`; `Ok(false)` when the user does not exist.
async fn strip<T: Cloud + ?Sized>(
    cloud: &T,
    user: &str,
    kind: Attachment,
) -> std::result::Result<bool, CloudError> {
    let ids = match cloud.list(user, kind).await {
        Err(CloudError::NoSuchEntity(_)) => return Ok(false),
        other => other?,
    };
    for id in &ids {
        match cloud.remove(user, kind, id).await {
            Ok(()) | Err(CloudError::NoSuchEntity(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Deletes an IAM user. First what awscreds put on it (access keys, inline policies): exactly
/// `known` when the lease recorded it, else whatever IAM lists; then the user. Only if IAM
/// refuses because someone attached more (a login profile, MFA, managed policies, groups, SSH
/// keys, certificates, service credentials, another key: Vault leaks the user here, its issue
/// #16685) is everything removed, best effort, and DeleteUser tried again. So the usual
/// revocation costs the fewest calls (three), and the unusual one still leaves nothing behind.
/// "No such entity" for the user means someone already deleted it.
pub(super) async fn delete_iam_user<T: Cloud + ?Sized>(
    cloud: &T,
    user: &str,
    known: Option<&[(Attachment, String)]>,
) -> std::result::Result<Deleted, CloudError> {
    match known {
        Some(items) => {
            let mut items = items.to_vec();
            items.sort(); // access keys first: the credential dies before anything else
            for (kind, id) in &items {
                match cloud.remove(user, *kind, id).await {
                    Ok(()) | Err(CloudError::NoSuchEntity(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        None => {
            for kind in Attachment::OWN {
                if !strip(cloud, user, kind).await? {
                    return Ok(Deleted::AlreadyGone);
                }
            }
        }
    }
    match cloud.delete_user(user).await {
        Ok(()) => return Ok(Deleted::Now),
        Err(CloudError::NoSuchEntity(_)) => return Ok(Deleted::AlreadyGone),
        Err(CloudError::DeleteConflict(_)) => {}
        Err(e) => return Err(e),
    }
    let mut trouble: Option<CloudError> = None;
    match cloud.delete_login_profile(user).await {
        Ok(()) | Err(CloudError::NoSuchEntity(_)) => {}
        Err(e) => trouble = Some(e),
    }
    for kind in Attachment::OTHERS.into_iter().chain(Attachment::OWN) {
        if let Err(e) = strip(cloud, user, kind).await {
            trouble.get_or_insert(e);
        }
    }
    match cloud.delete_user(user).await {
        Ok(()) => Ok(Deleted::Now),
        Err(CloudError::NoSuchEntity(_)) => Ok(Deleted::AlreadyGone),
        Err(e) if e.is_answer() && trouble.is_some() => Err(CloudError::Other(format!(
            "{e} (while removing what is attached: {})",
            trouble.expect("checked")
        ))),
        Err(e) => Err(e),
    }
}
