//! `config/root`, `config/rotate-root` and `config/lease`: a mount's root credentials, their
//! rotation, and lease settings.

use serde_json::{Map, Value};

use super::routes::Target;
use super::template::{self, Template};
use super::{Engine, Error, Result, Warning, Written};
use crate::cloud::{Attachment, Cloud, CloudError, Connector};
use crate::model::{LeaseConfig, RootConfig, RootConfigView};
use crate::params::{self, duration, named_duration};

impl<C: Connector> Engine<C> {
    /// Everything but the secret key, which is never shown.
    pub(super) async fn read_root_config(&self, target: &Target) -> Result<RootConfigView> {
        match self.store.root_config(&target.mount).await? {
            Some(config) => Ok(RootConfigView::from(&config)),
            None => Err(Error::NotFound {
                path: target.path(),
            }),
        }
    }

    /// Changes the parameters given (an empty value unsets one) and checks the result.
    pub(super) async fn write_root_config(
        &self,
        target: &Target,
        data: &Map<String, Value>,
    ) -> Result<()> {
        let mut config = self
            .store
            .root_config(&target.mount)
            .await?
            .unwrap_or_default();
        let given = |name| params::string(data, name);
        // A new access key never keeps the old secret; an access key never goes without one, and
        // a secret never without an access key.
        let access_key = given("access_key")?;
        let secret_key = given("secret_key")?;
        if access_key.is_some() || secret_key.is_some() {
            let access = access_key.unwrap_or_else(|| config.access_key.clone());
            let secret = secret_key.unwrap_or_default();
            match (access.is_empty(), secret.is_empty()) {
                (false, true) => {
                    return Err(Error::MissingParam {
                        param: "secret_key",
                        path: target.path(),
                        secret: true,
                        with: vec!["access_key", "secret_key"],
                    });
                }
                (true, false) => {
                    return Err(Error::input_hint(
                        "secret_key without access_key",
                        "give both, or neither to use the AWS credential chain",
                    ));
                }
                _ => {}
            }
            config.sealed_secret_key = if secret.is_empty() {
                Vec::new()
            } else {
                self.seal_root_secret(&target.mount, &secret).await?
            };
            config.legacy_secret_key.clear();
            config.key_written_at = (!access.is_empty()).then(|| self.now());
            config.access_key = access;
        }
        if let Some(region) = given("region")? {
            config.region = check_region(region)?;
        }
        if let Some(value) = given("iam_endpoint")? {
            config.iam_endpoint = endpoint("iam_endpoint", value)?;
        }
        if let Some(value) = given("sts_endpoint")? {
            config.sts_endpoint = endpoint("sts_endpoint", value)?;
        }
        if let Some(profile) = given("profile")? {
            config.profile = profile;
        }
        if let Some(text) = given("max_retries")? {
            config.max_retries = match text.trim().parse::<i64>() {
                Ok(-1) => None,
                Ok(n @ 0..=10) => Some(n as u32),
                _ => {
                    return Err(Error::input_hint(
                        format!("invalid max_retries \"{text}\""),
                        "a number of retries from 0 to 10, or -1 for the default (4)",
                    ));
                }
            };
        }
        if let Some(text) = given("username_template")? {
            if !text.is_empty() {
                let parsed = Template::parse(&text, template::IAM_LIMIT, "username_template")?;
                // Every credential gets a user of its own: names must not repeat.
                if parsed.randomness() < 8 {
                    return Err(Error::input_hint(
                        "username_template needs at least 8 random characters",
                        "add {{random 8}} or more, so that no two credentials get the same user",
                    ));
                }
            }
            config.username_template = text;
        }
        if let Some(text) = given("sts_name_template")? {
            if !text.is_empty() {
                Template::parse(&text, template::STS_LIMIT, "sts_name_template")?;
            }
            config.sts_name_template = text;
        }
        self.store.set_root_config(&target.mount, &config).await?;
        self.forget_cloud(&target.mount);
        Ok(())
    }

    /// `write MOUNT/config/rotate-root`: a new access key for the root IAM user, stored, then
    /// the old one deleted with the old credentials. Returns the new access key id.
    pub(super) async fn rotate_root(&self, target: &Target) -> Result<Written> {
        let mount = target.mount.as_str();
        let old = self.root_config(mount).await?;
        if !old.has_keys() {
            return Err(Error::input_hint(
                format!("{mount}/config/root has no access key to rotate"),
                "the root credentials come from the AWS credential chain, which is not \
                 awscreds' to rotate",
            ));
        }
        let cloud = self.cloud(mount).await?;
        let fail = |action: &str, e: CloudError| Error::cloud(action.to_string(), e);
        let user = cloud
            .caller_user_name()
            .await
            .map_err(|e| fail("finding the IAM user of the root credentials", e))?;
        let keys = cloud
            .list(&user, Attachment::AccessKey)
            .await
            .map_err(|e| fail(&format!("listing the access keys of {user}"), e))?;
        if keys.len() >= 2 {
            return Err(Error::input_hint(
                format!("IAM user {user} already has two access keys, IAM's limit"),
                format!(
                    "delete the one that is not {} first, then rotate again",
                    old.access_key
                ),
            ));
        }
        let new = cloud
            .create_access_key(&user)
            .await
            .map_err(|e| fail(&format!("creating an access key for {user}"), e))?;
        let config = RootConfig {
            access_key: new.access_key_id.clone(),
            sealed_secret_key: self.seal_root_secret(mount, &new.secret_access_key).await?,
            legacy_secret_key: String::new(),
            key_written_at: Some(self.now()),
            ..old.clone()
        };
        if let Err(e) = self.store.set_root_config(mount, &config).await {
            // Not stored: the new key must not outlive this command.
            let _ = cloud
                .remove(&user, Attachment::AccessKey, &new.access_key_id)
                .await;
            return Err(e.into());
        }
        self.forget_cloud(mount);
        // With the old credentials: the new key may not work everywhere yet (eventual
        // consistency).
        let mut warnings = Vec::new();
        if let Err(e) = cloud
            .remove(&user, Attachment::AccessKey, &old.access_key)
            .await
        {
            warnings.push(Warning::OldRootKeyKept {
                access_key: old.access_key.clone(),
                error: e.to_string(),
            });
        }
        Ok(Written::Rotated {
            access_key: new.access_key_id,
            warnings,
        })
    }

    pub(super) async fn lease_config(&self, mount: &str) -> Result<LeaseConfig> {
        Ok(self.store.lease_config(mount).await?.unwrap_or_default())
    }

    pub(super) async fn write_lease_config(
        &self,
        target: &Target,
        data: &Map<String, Value>,
    ) -> Result<()> {
        // lease and lease_max go together (Vault's pair); max_leases alone changes only the cap.
        let mut config = self.lease_config(&target.mount).await?;
        if data.contains_key("lease") || data.contains_key("lease_max") {
            let get = |name: &'static str| -> Result<u64> {
                let Some(text) = params::string(data, name)? else {
                    return Err(Error::MissingParam {
                        param: name,
                        path: target.path(),
                        secret: false,
                        with: vec!["lease", "lease_max"],
                    });
                };
                Ok(named_duration(name, &text)?)
            };
            config.lease = get("lease")?;
            config.lease_max = get("lease_max")?;
        }
        if let Some(cap) = super::caps::max_leases(data)? {
            config.max_leases = cap;
        }
        if config.lease == 0 {
            return Err(Error::input_hint(
                "lease: must be at least 1s",
                "a lease of 0 would expire credentials as they are issued",
            ));
        }
        if config.lease > config.lease_max {
            return Err(Error::input_hint(
                format!(
                    "lease ({}) is longer than lease_max ({})",
                    duration::format(config.lease),
                    duration::format(config.lease_max)
                ),
                "lease must be at most lease_max",
            ));
        }
        self.store.set_lease_config(&target.mount, &config).await?;
        Ok(())
    }
}

fn check_region(value: String) -> Result<String> {
    let ok = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok || value.trim() != value {
        return Err(Error::input_hint(
            format!("invalid region \"{value}\""),
            "a region looks like us-east-1; leave it empty for AWS_REGION, AWS_DEFAULT_REGION \
             or us-east-1",
        ));
    }
    Ok(value)
}

fn endpoint(name: &str, value: String) -> Result<Option<String>> {
    if value.is_empty() {
        return Ok(None);
    }
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(Some(value)),
        _ => Err(Error::input_hint(
            format!("invalid {name} \"{value}\""),
            "an endpoint is a URL such as http://127.0.0.1:5000 or https://iam.amazonaws.com",
        )),
    }
}
