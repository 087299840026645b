//! An in-memory IAM for unit tests of the engine's logic, with failures that can be injected per
//! operation. It is never the only test of a feature: integration tests use a real IAM emulator.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::{AccessKey, Cloud, CloudError, Connector, NewUser, Result};
use crate::model::RootConfig;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FakeUser {
    pub path: String,
    pub tags: Vec<(String, String)>,
    pub keys: Vec<String>,
    pub policies: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
pub struct FakeIam {
    pub users: RefCell<BTreeMap<String, FakeUser>>,
    /// Operation name (e.g. "CreateAccessKey") -> the error it returns from now on.
    pub failures: RefCell<HashMap<&'static str, CloudError>>,
    /// Every call made, as "Operation user".
    pub calls: RefCell<Vec<String>>,
    next_key: RefCell<u32>,
}

/// Connects every mount to the same shared fake.
#[derive(Debug, Default, Clone)]
pub struct FakeConnector(pub Rc<FakeIam>);

impl Connector for FakeConnector {
    type Cloud = Rc<FakeIam>;
    async fn connect(&self, _config: &RootConfig) -> Result<Rc<FakeIam>> {
        Ok(self.0.clone())
    }
}

impl FakeIam {
    pub fn fail(&self, operation: &'static str, error: CloudError) {
        self.failures.borrow_mut().insert(operation, error);
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
            None => Err(CloudError::NoSuchEntity(format!(
                "The user with name {user} cannot be found."
            ))),
        }
    }
}

impl Cloud for Rc<FakeIam> {
    async fn create_user(&self, user: &NewUser<'_>) -> Result<()> {
        self.call("CreateUser", user.name)?;
        let mut users = self.users.borrow_mut();
        if users.contains_key(user.name) {
            return Err(CloudError::Api {
                code: "EntityAlreadyExists".into(),
                message: format!("User with name {} already exists.", user.name),
            });
        }
        users.insert(
            user.name.to_string(),
            FakeUser {
                path: user.path.to_string(),
                tags: user.tags.to_vec(),
                ..FakeUser::default()
            },
        );
        Ok(())
    }

    async fn put_user_policy(&self, user: &str, policy_name: &str, document: &str) -> Result<()> {
        self.call("PutUserPolicy", user)?;
        self.with_user(user, |u| {
            u.policies.insert(policy_name.into(), document.into());
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
            u.keys.push(id.clone());
            Ok(AccessKey {
                access_key_id: id,
                secret_access_key: format!("fake-secret-{n}"),
            })
        })
    }

    async fn list_access_keys(&self, user: &str) -> Result<Vec<String>> {
        self.call("ListAccessKeys", user)?;
        self.with_user(user, |u| Ok(u.keys.clone()))
    }

    async fn delete_access_key(&self, user: &str, access_key_id: &str) -> Result<()> {
        self.call("DeleteAccessKey", user)?;
        self.with_user(user, |u| {
            u.keys.retain(|k| k != access_key_id);
            Ok(())
        })
    }

    async fn list_user_policies(&self, user: &str) -> Result<Vec<String>> {
        self.call("ListUserPolicies", user)?;
        self.with_user(user, |u| Ok(u.policies.keys().cloned().collect()))
    }

    async fn delete_user_policy(&self, user: &str, policy_name: &str) -> Result<()> {
        self.call("DeleteUserPolicy", user)?;
        self.with_user(user, |u| {
            u.policies.remove(policy_name);
            Ok(())
        })
    }

    async fn delete_user(&self, user: &str) -> Result<()> {
        self.call("DeleteUser", user)?;
        self.with_user(user, |u| {
            if !u.keys.is_empty() || !u.policies.is_empty() {
                return Err(CloudError::Api {
                    code: "DeleteConflict".into(),
                    message: "Cannot delete entity, must delete policies and keys first.".into(),
                });
            }
            Ok(())
        })?;
        self.users.borrow_mut().remove(user);
        Ok(())
    }
}
