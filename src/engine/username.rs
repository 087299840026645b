//! Names of the IAM users awscreds creates: `awscreds-<role>-<unix time>-<random>`, at most 64
//! characters (IAM's limit), using only characters IAM allows in user names.

/// IAM's limit on user names.
pub const MAX_LEN: usize = 64;
const PREFIX: &str = "awscreds-";
const RANDOM_LEN: usize = 16;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A fresh user name for `role` at unix time `now`; the role part is shortened to fit.
pub fn generate(role: &str, now: i64) -> String {
    let time = now.to_string();
    let room = MAX_LEN - PREFIX.len() - time.len() - RANDOM_LEN - 2;
    let role: String = role
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .take(room)
        .collect();
    format!("{PREFIX}{role}-{time}-{}", random(RANDOM_LEN))
}

/// Characters IAM accepts in a user name: `[\w+=,.@-]`.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

fn random(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).expect("the operating system provides randomness");
        // 248 = 4 * 62: bytes above it are dropped so that every character is equally likely.
        for b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(BASE62[(*b % 62) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_iam_limits() {
        let name = generate("deploy", 1_700_000_000);
        assert!(name.starts_with("awscreds-deploy-1700000000-"), "{name}");
        assert_eq!(name.len(), "awscreds-deploy-1700000000-".len() + RANDOM_LEN);
        let long = generate(&"r".repeat(64), 1_700_000_000);
        assert_eq!(long.len(), MAX_LEN);
        assert!(long.chars().all(allowed));
        assert_ne!(generate("a", 1), generate("a", 1));
    }
}
