//! The engine's values as records: the keys and values that a read or write shows, in Vault's
//! names. The table, JSON and `--field` outputs are all made from a [`Record`].

use serde_json::{Map, Value, json};

use super::timestamp;
use crate::engine::{Issued, LeaseInfo, Read};
use crate::model::{Lease, LeaseConfig, LeaseState, Role, RootConfigView};
use crate::params::duration;

/// What a read or write shows: data, and the lease when the data is a credential.
#[derive(Clone, PartialEq, Default)]
pub struct Record {
    pub lease: Option<LeaseInfo>,
    pub data: Map<String, Value>,
}

/// The data may hold secret keys and session tokens: `{:?}` shows only which fields there are.
impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("lease", &self.lease)
            .field("data", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("built from a json! object"),
    }
}

impl Record {
    fn data(value: Value) -> Record {
        Record {
            lease: None,
            data: object(value),
        }
    }

    pub fn read(read: &Read) -> Record {
        match read {
            Read::RootConfig(config) => Record::root_config(config),
            Read::LeaseConfig(config) => Record::lease_config(config),
            Read::Role(role) => Record::role(role),
            Read::Issued(issued) => Record::issued(issued),
        }
    }

    /// Credentials: the key pair; for STS also the session token, expiration, ttl and ARN.
    pub fn issued(issued: &Issued) -> Record {
        let c = &issued.credential;
        let mut data = Map::new();
        data.insert("access_key".into(), Value::String(c.access_key_id.clone()));
        data.insert(
            "secret_key".into(),
            Value::String(c.secret_access_key.clone()),
        );
        if let Some(token) = &c.session_token {
            data.insert("session_token".into(), Value::String(token.clone()));
            data.insert("expiration".into(), Value::String(timestamp(c.expires_at)));
            data.insert("ttl".into(), Value::from(issued.lease.duration));
        }
        if let Some(arn) = &c.arn {
            data.insert("arn".into(), Value::String(arn.clone()));
        }
        Record {
            lease: Some(issued.lease.clone()),
            data,
        }
    }

    /// Everything but the secret key, which the view does not hold.
    pub fn root_config(config: &RootConfigView) -> Record {
        Record::data(json!({
            "access_key": config.access_key,
            "region": config.region,
            "iam_endpoint": config.iam_endpoint.clone().unwrap_or_default(),
            "sts_endpoint": config.sts_endpoint.clone().unwrap_or_default(),
            "profile": config.profile,
            "max_retries": config.max_retries.map_or(-1, i64::from),
            "username_template": config.username_template,
            "sts_name_template": config.sts_name_template,
            // Never rotated on a schedule: empty (n/a in a table).
            "rotation_period": match config.rotation_period {
                0 => String::new(),
                secs => duration::format(secs),
            },
            "last_rotated": config.last_rotated.map(timestamp).unwrap_or_default(),
            "next_rotation": config.next_rotation.map(timestamp).unwrap_or_default(),
        }))
    }

    pub fn lease_config(config: &LeaseConfig) -> Record {
        Record::data(json!({
            "lease": duration::format(config.lease),
            "lease_max": duration::format(config.lease_max),
            "max_leases": config.max_leases,
        }))
    }

    pub fn role(role: &Role) -> Record {
        Record::data(json!({
            "credential_type": role.credential_type.as_str(),
            "policy_document": role.policy_document,
            // The seed's name for it, kept for its readers.
            "policy": role.policy_document,
            "policy_arns": role.policy_arns,
            "iam_groups": role.iam_groups,
            "iam_tags": role.iam_tags,
            "user_path": role.user_path,
            "permissions_boundary_arn": role.permissions_boundary_arn,
            "role_arns": role.role_arns,
            "default_sts_ttl": role.default_sts_ttl,
            "max_sts_ttl": role.max_sts_ttl,
            "session_tags": role.session_tags,
            "external_id": role.external_id,
            "mfa_serial_number": role.mfa_serial_number,
            "max_leases": role.max_leases,
        }))
    }

    /// `config/rotate-root`: the new access key id.
    pub fn rotated(access_key: &str) -> Record {
        Record::data(json!({ "access_key": access_key }))
    }

    /// `lease renew`: the lease alone.
    pub fn renewed(lease: LeaseInfo) -> Record {
        Record {
            lease: Some(lease),
            data: Map::new(),
        }
    }

    /// `lease lookup`: every field of one lease, without a lease of its own.
    pub fn lease_detail(lease: &Lease, now: i64) -> Record {
        Record::data(json!({
            "id": lease.id,
            "mount": lease.mount,
            "role": lease.role,
            "credential_type": lease.kind.as_str(),
            "iam_user": lease.iam_user,
            "access_key": lease.access_key_id.clone().unwrap_or_default(),
            "state": lease.state.as_str(),
            "issue_time": timestamp(lease.issued_at),
            "expire_time": timestamp(lease.expires_at),
            "max_expire_time": timestamp(lease.max_expires_at),
            "ttl": (lease.expires_at - now).max(0),
            "renewable": lease.state == LeaseState::Active
                && !lease.kind.is_sts()
                && lease.expires_at < lease.max_expires_at,
            "attempts": lease.attempts,
            "last_error": lease.last_error.clone().unwrap_or_default(),
            // How long the new access key took to work, when its issuer waited (--wait).
            "key_wait": lease
                .key_wait_ms
                .map(|ms| format!("{}.{:03}s", ms / 1000, ms % 1000))
                .unwrap_or_default(),
        }))
    }
}
