//! Durations as users write them (`90s`, `30m`, `1h`, `1h30m`, plain seconds) and as Vault prints them.

use super::{ParamError as Error, one_line};

/// The longest duration accepted: 100 years, far below where seconds would overflow the signed
/// timestamps they are added to.
const MAX: u64 = 100 * 365 * 24 * 3600;

/// Parses a duration into whole seconds. Hour is the largest unit, as in Vault's `config/lease`.
pub fn parse(text: &str) -> Result<u64, Error> {
    let too_long = || {
        Error::input_hint(
            format!("duration \"{}\" is too long", one_line(text)),
            "durations are at most 100 years (876000h)",
        )
    };
    let bad = || {
        Error::input_hint(
            format!("invalid duration \"{}\"", one_line(text)),
            "write a number of seconds or a duration such as 90s, 30m, 1h or 1h30m",
        )
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    let checked = |secs: u64| {
        if secs > MAX {
            Err(too_long())
        } else {
            Ok(secs)
        }
    };
    if let Ok(secs) = text.parse::<u64>() {
        return checked(secs);
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !number.is_empty() {
        return Err(bad());
    }
    checked(total)
}

/// Formats seconds the way Vault prints Go durations, trimmed: `1h`, `30m`, `1h0m30s`, `0s`.
pub fn format(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_plain_seconds() {
        assert_eq!(parse("90").unwrap(), 90);
        assert_eq!(parse("90s").unwrap(), 90);
        assert_eq!(parse("30m").unwrap(), 1800);
        assert_eq!(parse("1h").unwrap(), 3600);
        assert_eq!(parse("1h30m").unwrap(), 5400);
        assert_eq!(parse("1h0m5s").unwrap(), 3605);
    }

    #[test]
    fn refuses_durations_that_would_overflow() {
        assert!(parse("876000h").is_ok());
        for huge in ["18446744073709551615", "876001h", "99999999999999h"] {
            assert!(
                parse(huge).unwrap_err().to_string().contains("too long"),
                "{huge}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in ["", "1d", "h", "1.5h", "-1", "10x", "1h30", "ten"] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains("invalid duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn errors_show_control_characters_escaped() {
        // Reproduces the two-line error that proptest found for the duration "\n".
        assert_eq!(
            parse("\n").unwrap_err().to_string(),
            "invalid duration \"\\n\""
        );
    }

    #[test]
    fn formats_like_vault() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(90), "1m30s");
        assert_eq!(format(3600), "1h");
        assert_eq!(format(86400), "24h");
        assert_eq!(format(3630), "1h0m30s");
    }
}
