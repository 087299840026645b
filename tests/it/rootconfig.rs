//! Root configuration: keys from the AWS credential chain (environment, profile files), retries,
//! name templates, and rotate-root. The signature-checking emulator tells a working key from a
//! wrong or deleted one.

use crate::proxy::{Fault, Proxy};
use crate::support::*;

/// A mount whose config/root has no keys (the chain) and talks to the signature-checking
/// emulator; with an iam_user role `role`.
fn chain_env(role: &str) -> Env {
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    env.run([
        "write",
        "aws/config/root",
        &format!("iam_endpoint={}", auth_endpoint()),
        &format!("sts_endpoint={}", auth_endpoint()),
    ])
    .ok();
    env.role(&format!("aws/roles/{role}"));
    env
}

#[test]
fn keys_come_from_the_environment_when_config_root_has_none() {
    let (access, secret) = auth_admin();
    let env = chain_env("rc_envchain")
        .with_var("AWS_ACCESS_KEY_ID", access)
        .with_var("AWS_SECRET_ACCESS_KEY", secret);
    let table = env.run(["read", "aws/config/root"]).ok().table();
    assert_eq!(table["access_key"], "n/a");
    let (id, key) = env.issue("aws/creds/rc_envchain");
    let admin = Iam::with_key(&auth_endpoint(), access, secret);
    let user = admin.users_of_role("rc_envchain").remove(0);
    assert_eq!(user.keys, [key]);
    env.run(["lease", "revoke", &id]).ok();
    assert!(admin.users_of_role("rc_envchain").is_empty());

    // A wrong key in the environment is refused by AWS: exit 2, nothing left behind.
    let wrong = chain_env("rc_envwrong")
        .with_var("AWS_ACCESS_KEY_ID", access)
        .with_var("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    wrong
        .run(["read", "aws/creds/rc_envwrong"])
        .fails(2)
        .stderr_has("error: creating IAM user awscreds-rc_envwrong-");
    assert!(wrong.leases().is_empty());
    assert!(admin.users_of_role("rc_envwrong").is_empty());
}

#[test]
fn keys_come_from_a_named_profile() {
    let (access, secret) = auth_admin();
    let env = chain_env("rc_profile");
    std::fs::create_dir_all(env.dir.path().join(".aws")).unwrap();
    env.file(
        ".aws/credentials",
        &format!(
            "[ci]\naws_access_key_id = {access}\naws_secret_access_key = {secret}\n\n\
             [stale]\naws_access_key_id = {access}\naws_secret_access_key = wrong\n"
        ),
    );
    env.run(["write", "aws/config/root", "profile=stale"]).ok();
    env.run(["read", "aws/creds/rc_profile"])
        .fails(2)
        .stderr_has("error: creating IAM user awscreds-rc_profile-");
    env.run(["write", "aws/config/root", "profile=ci"]).ok();
    assert_eq!(
        env.run(["read", "aws/config/root"]).ok().table()["profile"],
        "ci"
    );
    let (_, key) = env.issue("aws/creds/rc_profile");
    let admin = Iam::with_key(&auth_endpoint(), access, secret);
    assert_eq!(admin.users_of_role("rc_profile").remove(0).keys, [key]);
}

#[test]
fn max_retries_bounds_the_attempts() {
    let proxy = Proxy::start(&endpoint());
    let env = Env::configured();
    env.run([
        "write",
        "aws/config/root",
        &format!("iam_endpoint={}", proxy.url),
        "max_retries=0",
    ])
    .ok();
    env.role("aws/roles/rc_retries");
    proxy.fault("CreateUser", Fault::Throttle, None);
    // Regression: the error named the default count (5), not the configured one.
    env.run(["read", "aws/creds/rc_retries"])
        .fails(2)
        .stderr_has("throttled by AWS, gave up after 1 attempt:")
        .stderr_has("hint: the lease stays pending");
    assert_eq!(proxy.count("CreateUser"), 1);
    env.run(["write", "aws/config/root", "max_retries=2"]).ok();
    env.run(["read", "aws/creds/rc_retries"])
        .fails(2)
        .stderr_has("throttled by AWS, gave up after 3 attempts:")
        .stderr_has("hint: the lease stays pending");
    assert_eq!(proxy.count("CreateUser"), 4);
    assert_eq!(
        env.run(["read", "aws/config/root"]).ok().table()["max_retries"],
        "2"
    );
    env.run(["write", "aws/config/root", "max_retries=11"])
        .fails(1)
        .one_line_error("invalid max_retries \"11\"");
    // Whether a throttled CreateUser's earlier attempt created the user is unknown: the leases
    // stay pending, and a forced sweep settles them.
    let leases = env.leases();
    assert_eq!(leases.len(), 2);
    assert!(leases.iter().all(|l| l.state == "pending"));
    proxy.clear("CreateUser");
    env.run(["sweep", "--pending-timeout", "0s"])
        .ok()
        .stdout_is("Swept expired leases: 2 revoked, 0 failed\n");
    assert!(env.leases().is_empty());
}

#[test]
fn name_templates_name_users_and_sessions() {
    let env = Env::configured();
    env.run([
        "write",
        "aws/config/root",
        "username_template=ci-{{role 12}}-{{random 8}}",
        "sts_name_template=job-{{unix_time}}",
    ])
    .ok();
    env.role("aws/roles/rc_template");
    env.issue("aws/creds/rc_template");
    let name = env.leases()[0].iam_user.clone();
    assert!(
        name.starts_with("ci-rc_template-") && name.len() == "ci-rc_template-".len() + 8,
        "{name}"
    );
    assert!(Iam::new().user(&name).is_some());

    let iam = Iam::new();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    let arn = iam.call(|c| {
        let c = c.clone();
        async move {
            let out = c
                .create_role()
                .role_name("rc-template-target")
                .assume_role_policy_document(trust)
                .send()
                .await
                .unwrap();
            out.role().unwrap().arn().to_string()
        }
    });
    env.run([
        "write",
        "aws/roles/rc_sts",
        "credential_type=assumed_role",
        &format!("role_arns={arn}"),
    ])
    .ok();
    let out = env
        .run(["read", "aws/creds/rc_sts", "-format=json"])
        .ok()
        .json();
    let session = out["data"]["arn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert!(
        session.starts_with("job-") && session.len() == 14,
        "{session}"
    );

    // Templates that could make names too long are refused when written.
    let before = env.dump();
    env.run([
        "write",
        "aws/config/root",
        "username_template=vault-{{role}}-{{unix_time}}",
    ])
    .fails(1)
    .one_line_error("username_template can make names of up to 81 characters; the limit is 64");
    env.run([
        "write",
        "aws/config/root",
        "sts_name_template=awscreds-{{role 27}}-{{unix_time}}",
    ])
    .fails(1)
    .one_line_error("sts_name_template can make names of up to 47 characters; the limit is 32");
    assert_eq!(env.dump(), before);
}

/// A user of the signature-checking emulator allowed to manage IAM, with one key.
pub fn rotator(name: &str) -> (String, String) {
    let (access, secret) = auth_admin();
    let admin = Iam::with_key(&auth_endpoint(), access, secret);
    admin.call(|c| {
        let (c, name) = (c.clone(), name.to_string());
        async move {
            c.create_user().user_name(&name).send().await.unwrap();
            let policy = c
                .create_policy()
                .policy_name(format!("{name}-iam"))
                .policy_document(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
                )
                .send()
                .await
                .unwrap();
            c.attach_user_policy()
                .user_name(&name)
                .policy_arn(policy.policy().unwrap().arn().unwrap())
                .send()
                .await
                .unwrap();
            let key = c.create_access_key().user_name(&name).send().await.unwrap();
            let key = key.access_key().unwrap();
            (key.access_key_id().to_string(), key.secret_access_key().to_string())
        }
    })
}

pub fn keys_of(user: &str) -> Vec<String> {
    let (access, secret) = auth_admin();
    Iam::with_key(&auth_endpoint(), access, secret)
        .call(|c| {
            let (c, user) = (c.clone(), user.to_string());
            async move { c.list_access_keys().user_name(user).send().await.unwrap() }
        })
        .access_key_metadata()
        .iter()
        .map(|k| k.access_key_id().unwrap().to_string())
        .collect()
}

#[test]
fn rotate_root_replaces_the_key_and_the_old_one_stops_working() {
    let (old_access, old_secret) = rotator("rc-rotator");
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    env.run([
        "write",
        "aws/config/root",
        &format!("access_key={old_access}"),
        &format!("secret_key={old_secret}"),
        &format!("iam_endpoint={}", auth_endpoint()),
    ])
    .ok();
    let run = env
        .run(["write", "aws/config/rotate-root", "-format=json"])
        .ok();
    let new_access = run.json()["data"]["access_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!run.stdout.contains(&old_secret));
    assert_ne!(new_access, old_access);
    assert_eq!(keys_of("rc-rotator"), std::slice::from_ref(&new_access));
    assert_eq!(
        env.run(["read", "aws/config/root"]).ok().table()["access_key"],
        new_access
    );

    // The old key is refused; the new one, which awscreds now holds, works.
    let old = Iam::with_key(&auth_endpoint(), &old_access, &old_secret);
    assert!(old.call(|c| c.get_user().send()).is_err());
    env.role("aws/roles/rc_rotated");
    env.issue("aws/creds/rc_rotated");
    assert_eq!(env.leases().len(), 1);
}

#[test]
fn rotate_root_refuses_a_user_with_two_keys_and_the_credential_chain() {
    let (access, secret) = rotator("rc-twokeys");
    let (admin_access, admin_secret) = auth_admin();
    Iam::with_key(&auth_endpoint(), admin_access, admin_secret)
        .call(|c| c.create_access_key().user_name("rc-twokeys").send())
        .unwrap();
    let env = Env::new();
    env.run(["mount", "aws"]).ok();
    env.run([
        "write",
        "aws/config/root",
        &format!("access_key={access}"),
        &format!("secret_key={secret}"),
        &format!("iam_endpoint={}", auth_endpoint()),
    ])
    .ok();
    let before = env.dump();
    env.run(["write", "aws/config/rotate-root"])
        .fails(1)
        .one_line_error("IAM user rc-twokeys already has two access keys, IAM's limit");
    assert_eq!(env.dump(), before);
    assert_eq!(keys_of("rc-twokeys").len(), 2);

    let chain = Env::new();
    chain.run(["mount", "aws"]).ok();
    chain
        .run(["write", "aws/config/root", "region=us-east-1"])
        .ok();
    chain
        .run(["write", "aws/config/rotate-root"])
        .fails(1)
        .one_line_error("aws/config/root has no access key to rotate");
}

#[test]
fn a_username_template_without_randomness_is_refused() {
    // Two credentials must never get the same IAM user.
    let env = Env::configured();
    let before = env.dump();
    env.run([
        "write",
        "aws/config/root",
        "username_template=fixed-{{role 20}}",
    ])
    .fails(1)
    .one_line_error("username_template needs at least 8 random characters");
    assert_eq!(env.dump(), before);
}
