//! `config/root` and `config/lease`: a mount's root credentials and lease settings. Rotating
//! the root key is in `rotation.rs`.

use serde_json::{Map, Value};

use super::routes::Target;
use super::template::{self, Template};
use super::{Engine, Error, Result};
use crate::cloud::Connector;
use crate::model::{LeaseConfig, RootConfigView};
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
        // A rotation of the root key must not be undone by a write that read the key before it.
        self.hold_rotation_lock(&target.mount).await?;
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
            if access != config.access_key || !secret.is_empty() {
                config.key_since = Some(self.now());
            }
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
        if let Some(text) = given("rotation_period")? {
            let secs = match text.trim() {
                "" => 0,
                text => named_duration("rotation_period", text)?,
            };
            if secs > 0 && config.key_since.is_none() {
                // A key of an earlier version, of unknown age: counted from now.
                config.key_since = Some(self.now());
            }
            config.rotation_period = secs;
        }
        if config.rotation_period > 0 && !config.has_keys() {
            return Err(Error::input_hint(
                format!("rotation_period needs an access key in {}", target.path()),
                "keys from the AWS credential chain are not awscreds' to rotate; give \
                 access_key and secret_key, or leave rotation_period out",
            ));
        }
        self.store.set_root_config(&target.mount, &config).await?;
        self.release_rotation_lock(&target.mount).await?;
        self.forget_cloud(&target.mount);
        Ok(())
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
