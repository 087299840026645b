//! An in-memory IAM for unit tests of the engine's logic, with failures that can be injected per
//! operation. Unlike the emulator, it refuses DeleteUser while anything is attached, as real IAM
//! does. It is never the only test of a feature: integration tests use a real IAM emulator.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::{
    AccessKey, Attachment, Cloud, CloudError, Connector, DataKey, Kms, NewUser, Result,
    StsCredentials, StsRequest,
};
use crate::model::RootConfig;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FakeUser {
    pub path: String,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<(String, String)>,
    /// Kind -> id -> value (the document, for inline policies).
    pub attached: HashMap<Attachment, BTreeMap<String, String>>,
    pub login_profile: bool,
}

impl FakeUser {
    pub fn ids(&self, kind: Attachment) -> Vec<String> {
        self.attached
            .get(&kind)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

#[derive(Debug, Default)]
pub struct FakeIam {
    pub users: RefCell<BTreeMap<String, FakeUser>>,
    /// Operation name (e.g. "CreateAccessKey") -> the error it returns from now on.
    pub failures: RefCell<HashMap<&'static str, CloudError>>,
    /// Every call made, as "Operation user".
    pub calls: RefCell<Vec<String>>,
    /// CreateUser creates the user but answers EntityAlreadyExists, as a retry does after an
    /// answer was lost.
    pub create_user_answer_lost: std::cell::Cell<bool>,
    /// The (policy, policy ARNs) of every STS request.
    pub sts_requests: RefCell<Vec<(Option<String>, Vec<String>)>>,
    next_key: RefCell<u32>,
}

/// Connects every mount to the same shared fake.
#[derive(Debug, Default, Clone)]
pub struct FakeConnector(pub Rc<FakeIam>);

impl Connector for FakeConnector {
    type Cloud = Rc<FakeIam>;
    type Kms = FakeKms;
    async fn connect(&self, _config: &RootConfig, _secret_key: &str) -> Result<Rc<FakeIam>> {
        Ok(self.0.clone())
    }
    async fn kms(&self) -> Result<FakeKms> {
        Ok(FakeKms)
    }
}

/// A KMS that "encrypts" by prefixing the key id: enough to test the engine's envelope logic.
pub struct FakeKms;

impl Kms for FakeKms {
    async fn generate_data_key(&self, key_id: &str) -> Result<DataKey> {
        let plaintext = vec![7u8; 32];
        Ok(DataKey {
            ciphertext: self.encrypt(key_id, &plaintext).await?,
            plaintext: zeroize::Zeroizing::new(plaintext),
        })
    }

    async fn encrypt(&self, key_id: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut out = format!("{key_id}:").into_bytes();
        out.extend_from_slice(plaintext);
        Ok(out)
    }

    async fn decrypt(&self, ciphertext: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let at = ciphertext
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| CloudError::Other("not a fake KMS ciphertext".into()))?;
        Ok(zeroize::Zeroizing::new(ciphertext[at + 1..].to_vec()))
    }
}

fn no_such_user(user: &str) -> CloudError {
    CloudError::NoSuchEntity(format!("The user with name {user} cannot be found."))
}

impl FakeIam {
    pub fn fail(&self, operation: &'static str, error: CloudError) {
        self.failures.borrow_mut().insert(operation, error);
    }

    /// Attaches something as someone else would, behind awscreds' back.
    pub fn attach(&self, user: &str, kind: Attachment, id: &str) {
        let mut users = self.users.borrow_mut();
        let u = users.get_mut(user).expect("user exists");
        u.attached
            .entry(kind)
            .or_default()
            .insert(id.into(), String::new());
    }

    pub fn operations(&self) -> Vec<String> {
        self.calls
            .borrow()
            .iter()
            .map(|c| c.split(' ').next().unwrap_or_default().to_string())
            .collect()
    }

    fn call(&self, operation: &'static str, user: &str) -> Result<()> {
        self.calls.borrow_mut().push(format!("{operation} {user}"));
        match self.failures.borrow().get(operation) {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    fn with_user<T>(&self, user: &str, f: impl FnOnce(&mut FakeUser) -> Result<T>) -> Result<T> {
        match self.users.borrow_mut().get_mut(user) {
            Some(u) => f(u),
            None => Err(no_such_user(user)),
        }
    }
}

fn operation(kind: Attachment, list: bool) -> &'static str {
    use Attachment::*;
    match (kind, list) {
        (AccessKey, true) => "ListAccessKeys",
        (AccessKey, false) => "DeleteAccessKey",
        (InlinePolicy, true) => "ListUserPolicies",
        (InlinePolicy, false) => "DeleteUserPolicy",
        (ManagedPolicy, true) => "ListAttachedUserPolicies",
        (ManagedPolicy, false) => "DetachUserPolicy",
        (Group, true) => "ListGroupsForUser",
        (Group, false) => "RemoveUserFromGroup",
        (MfaDevice, true) => "ListMFADevices",
        (MfaDevice, false) => "DeactivateMFADevice",
        (SshPublicKey, true) => "ListSSHPublicKeys",
        (SshPublicKey, false) => "DeleteSSHPublicKey",
        (SigningCertificate, true) => "ListSigningCertificates",
        (SigningCertificate, false) => "DeleteSigningCertificate",
        (ServiceSpecificCredential, true) => "ListServiceSpecificCredentials",
        (ServiceSpecificCredential, false) => "DeleteServiceSpecificCredential",
    }
}

fn attach_operation(kind: Attachment) -> &'static str {
    match kind {
        Attachment::ManagedPolicy => "AttachUserPolicy",
        Attachment::Group => "AddUserToGroup",
        _ => "Attach",
    }
}

impl Cloud for Rc<FakeIam> {
    async fn caller_with(&self, credential: &crate::model::Credential) -> Result<String> {
        self.call("GetCallerIdentity", &credential.access_key_id)?;
        Ok(format!(
            "arn:aws:iam::123456789012:user/{}",
            credential.access_key_id
        ))
    }

    async fn create_user(&self, user: &NewUser<'_>) -> Result<()> {
        self.call("CreateUser", user.name)?;
        let mut users = self.users.borrow_mut();
        if users.contains_key(user.name) {
            return Err(CloudError::AlreadyExists(format!(
                "User with name {} already exists.",
                user.name
            )));
        }
        users.insert(
            user.name.to_string(),
            FakeUser {
                path: user.path.to_string(),
                tags: user.tags.to_vec(),
                permissions_boundary: user.permissions_boundary.map(str::to_string),
                ..FakeUser::default()
            },
        );
        if self.create_user_answer_lost.get() {
            return Err(CloudError::AlreadyExists(format!(
                "User with name {} already exists.",
                user.name
            )));
        }
        Ok(())
    }

    async fn put_user_policy(&self, user: &str, policy_name: &str, document: &str) -> Result<()> {
        self.call("PutUserPolicy", user)?;
        self.with_user(user, |u| {
            u.attached
                .entry(Attachment::InlinePolicy)
                .or_default()
                .insert(policy_name.into(), document.into());
            Ok(())
        })
    }

    async fn create_access_key(&self, user: &str) -> Result<AccessKey> {
        self.call("CreateAccessKey", user)?;
        let n = {
            let mut next = self.next_key.borrow_mut();
            *next += 1;
            *next
        };
        self.with_user(user, |u| {
            let id = format!("AKIAFAKE{n:012}");
            u.attached
                .entry(Attachment::AccessKey)
                .or_default()
                .insert(id.clone(), String::new());
            Ok(AccessKey {
                access_key_id: id,
                secret_access_key: format!("fake-secret-{n}"),
            })
        })
    }

    async fn list(&self, user: &str, kind: Attachment) -> Result<Vec<String>> {
        self.call(operation(kind, true), user)?;
        self.with_user(user, |u| Ok(u.ids(kind)))
    }

    async fn remove(&self, user: &str, kind: Attachment, id: &str) -> Result<()> {
        self.call(operation(kind, false), user)?;
        self.with_user(user, |u| {
            match u.attached.get_mut(&kind).and_then(|m| m.remove(id)) {
                Some(_) => Ok(()),
                None => Err(CloudError::NoSuchEntity(format!("{id} not found"))),
            }
        })
    }

    async fn delete_login_profile(&self, user: &str) -> Result<()> {
        self.call("DeleteLoginProfile", user)?;
        self.with_user(user, |u| {
            if std::mem::take(&mut u.login_profile) {
                Ok(())
            } else {
                Err(CloudError::NoSuchEntity(format!(
                    "Login profile for {user} not found"
                )))
            }
        })
    }

    async fn delete_user(&self, user: &str) -> Result<()> {
        self.call("DeleteUser", user)?;
        self.with_user(user, |u| {
            if u.login_profile || u.attached.values().any(|m| !m.is_empty()) {
                return Err(CloudError::DeleteConflict(
                    "Cannot delete entity, must remove attached entities first.".into(),
                ));
            }
            Ok(())
        })?;
        self.users.borrow_mut().remove(user);
        Ok(())
    }

    async fn list_users(&self, path_prefix: &str) -> Result<Vec<String>> {
        self.call("ListUsers", path_prefix)?;
        Ok(self
            .users
            .borrow()
            .iter()
            .filter(|(_, u)| u.path.starts_with(path_prefix))
            .map(|(n, _)| n.clone())
            .collect())
    }

    async fn user_tags(&self, user: &str) -> Result<Vec<(String, String)>> {
        self.call("ListUserTags", user)?;
        self.with_user(user, |u| Ok(u.tags.clone()))
    }

    async fn attach(&self, user: &str, kind: Attachment, id: &str) -> Result<()> {
        self.call(attach_operation(kind), user)?;
        self.with_user(user, |u| {
            u.attached
                .entry(kind)
                .or_default()
                .insert(id.into(), String::new());
            Ok(())
        })
    }

    async fn group_policies(&self, group: &str) -> Result<(Vec<String>, Vec<String>)> {
        self.call("GetGroupPolicies", group)?;
        Ok((
            vec![format!(r#"{{"Statement":[{{"Sid":"{group}"}}]}}"#)],
            vec![format!("arn:aws:iam::123456789012:policy/{group}")],
        ))
    }

    async fn caller_user_name(&self) -> Result<String> {
        self.call("GetUser", "")?;
        Ok("root-user".into())
    }

    async fn sts(&self, request: &StsRequest<'_>) -> Result<StsCredentials> {
        let operation = match request.kind {
            crate::model::CredentialType::AssumedRole => "AssumeRole",
            crate::model::CredentialType::FederationToken => "GetFederationToken",
            _ => "GetSessionToken",
        };
        self.call(operation, request.name)?;
        self.sts_requests.borrow_mut().push((
            request.policy.map(str::to_string),
            request.policy_arns.to_vec(),
        ));
        Ok(StsCredentials {
            access_key_id: "ASIAFAKE".into(),
            secret_access_key: "fake-sts-secret".into(),
            session_token: "fake-token".into(),
            expiration: chrono::Utc::now().timestamp() + i64::from(request.duration_seconds),
            arn: Some(format!("arn:aws:sts::123456789012:fake/{}", request.name)),
        })
    }
}
