//! Condition operators, as IAM evaluates them
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>).
//!
//! - A condition block holds when every operator's every key holds; a key
//!   holds when the request's value matches any of the policy's values.
//! - A key absent from the request makes a positive operator false, and a
//!   negated one (`StringNotEquals`, `ArnNotLike`, `NotIpAddress`...) true.
//!   `...IfExists` makes any operator true on an absent key.
//! - `Null: true` holds when the key is absent, `Null: false` when present.
//! - `ForAnyValue:` holds when some request value matches (false when the
//!   key is absent or empty); `ForAllValues:` when every request value
//!   matches (true when the key is absent or empty). A negated operator under
//!   a qualifier negates each value's match.
//! - A multi-valued key under an operator without a qualifier: a positive
//!   operator holds when any value matches, a negated one when none does.
//! - `ArnEquals` and `ArnLike` are the same: each of the six colon-separated
//!   parts matched on its own, with `*` and `?`.
//! - Policy variables (`${aws:username}`, `${aws:PrincipalTag/x, 'default'}`,
//!   `${*}`, `${?}`, `${$}`) are resolved in string and ARN values. A value
//!   whose variable cannot be resolved matches nothing.

use super::{glob_flat, resolve_with, Context, Flat, Values};
use crate::pattern;
use crate::policy::{Condition, SetQualifier};
use std::net::IpAddr;

/// The base operators, without `IfExists` or a set qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnLike,
    Null,
}

/// An operator name: the base operator and whether it is the negated form.
pub fn parse_op(name: &str) -> Option<(Op, bool)> {
    use Op::*;
    Some(match name {
        "StringEquals" => (StringEquals, false),
        "StringNotEquals" => (StringEquals, true),
        "StringEqualsIgnoreCase" => (StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (StringEqualsIgnoreCase, true),
        "StringLike" => (StringLike, false),
        "StringNotLike" => (StringLike, true),
        "NumericEquals" => (NumericEquals, false),
        "NumericNotEquals" => (NumericEquals, true),
        "NumericLessThan" => (NumericLessThan, false),
        "NumericLessThanEquals" => (NumericLessThanEquals, false),
        "NumericGreaterThan" => (NumericGreaterThan, false),
        "NumericGreaterThanEquals" => (NumericGreaterThanEquals, false),
        "DateEquals" => (DateEquals, false),
        "DateNotEquals" => (DateEquals, true),
        "DateLessThan" => (DateLessThan, false),
        "DateLessThanEquals" => (DateLessThanEquals, false),
        "DateGreaterThan" => (DateGreaterThan, false),
        "DateGreaterThanEquals" => (DateGreaterThanEquals, false),
        "Bool" => (Bool, false),
        "BinaryEquals" => (BinaryEquals, false),
        "IpAddress" => (IpAddress, false),
        "NotIpAddress" => (IpAddress, true),
        "ArnEquals" | "ArnLike" => (ArnLike, false),
        "ArnNotEquals" | "ArnNotLike" => (ArnLike, true),
        "Null" => (Null, false),
        _ => return None,
    })
}

/// Does one condition hold for the request? An operator IAM does not know
/// holds for nothing (IAM refuses such a policy when it is written).
pub fn holds(c: &Condition, ctx: &Context) -> bool {
    holds_with(c, ctx, true)
}

/// [`holds`], with policy variables in the values resolved or (in a policy
/// whose version has none: [`super::has_variables`]) read as literal text.
pub fn holds_with(c: &Condition, ctx: &Context, variables: bool) -> bool {
    let Some((op, negated)) = parse_op(&c.operator) else {
        return false;
    };
    let values = ctx.get(&c.key);
    if op == Op::Null {
        let absent = values.is_none();
        return c
            .values
            .iter()
            .any(|v| parse_bool(v).is_some_and(|want| want == absent));
    }
    let request: &[String] = match values {
        None => &[],
        Some(Values::One(v)) => std::slice::from_ref(v),
        Some(Values::Many(vs)) => vs,
    };
    let matches = |r: &str| c.values.iter().any(|p| compare(op, p, r, ctx, variables));
    match c.qualifier {
        Some(SetQualifier::ForAllValues) => {
            request.is_empty() || request.iter().all(|r| matches(r) != negated)
        }
        Some(SetQualifier::ForAnyValue) => {
            if values.is_none() {
                c.if_exists
            } else {
                request.iter().any(|r| matches(r) != negated)
            }
        }
        None => {
            if values.is_none() {
                c.if_exists || negated
            } else {
                request.iter().any(|r| matches(r)) != negated
            }
        }
    }
}

/// One policy value against one request value, under a positive operator.
fn compare(op: Op, policy: &str, request: &str, ctx: &Context, variables: bool) -> bool {
    use Op::*;
    match op {
        StringEquals | StringEqualsIgnoreCase | StringLike | ArnLike => {
            let Some(flat) = resolve_with(policy, ctx, variables) else {
                return false;
            };
            match op {
                StringEquals => flat.text == request,
                StringEqualsIgnoreCase => {
                    flat.text.eq_ignore_ascii_case(request)
                        || flat.text.to_lowercase() == request.to_lowercase()
                }
                StringLike => glob_flat(&flat, 0, &flat.text, request),
                _ => arn_like(&flat, request),
            }
        }
        NumericEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => match (parse_number(request), parse_number(policy)) {
            (Some(r), Some(p)) => ordered(op, r.partial_cmp(&p)),
            _ => false,
        },
        DateEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => match (parse_date(request), parse_date(policy)) {
            (Some(r), Some(p)) => ordered(op, r.partial_cmp(&p)),
            _ => false,
        },
        Bool => matches!((parse_bool(request), parse_bool(policy)), (Some(r), Some(p)) if r == p),
        BinaryEquals => request == policy,
        IpAddress => ip_in(request, policy),
        Null => false,
    }
}

fn ordered(op: Op, o: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    use Op::*;
    matches!(
        (op, o),
        (NumericEquals | DateEquals, Some(Equal))
            | (NumericLessThan | DateLessThan, Some(Less))
            | (
                NumericLessThanEquals | DateLessThanEquals,
                Some(Less | Equal)
            )
            | (NumericGreaterThan | DateGreaterThan, Some(Greater))
            | (
                NumericGreaterThanEquals | DateGreaterThanEquals,
                Some(Greater | Equal)
            )
    )
}

/// `ArnLike`: each of the six parts on its own (the resource part keeps its
/// colons), the first (`arn`) too: "Each of the six colon-delimited
/// components of the ARN is checked separately and each can include
/// multi-character match wildcards (*) or single-character match wildcards
/// (?)" (condition operators page). A policy value of wildcards alone
/// matches any value.
fn arn_like(flat: &Flat, request: &str) -> bool {
    if pattern::is_only_wildcards(&flat.text) && flat.literal.is_empty() {
        return true;
    }
    let (Some(p), Some(r)) = (split_six(&flat.text), split_arn(request)) else {
        return false;
    };
    let mut offset = 0;
    p.iter().zip(r.iter()).all(|(ps, rs)| {
        let ok = glob_flat(flat, offset, ps, rs);
        offset += ps.len() + 1;
        ok
    })
}

/// The six parts of an ARN, the last keeping its colons.
pub fn split_arn(s: &str) -> Option<[&str; 6]> {
    split_six(s).filter(|parts| parts[0] == "arn")
}

/// Six colon-separated parts, the last keeping its colons, whatever the first.
fn split_six(s: &str) -> Option<[&str; 6]> {
    let mut it = s.splitn(6, ':');
    Some([
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ])
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An integer or a decimal, as IAM writes numbers in conditions.
fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    ok.then(|| t.parse().ok()).flatten()
}

/// A date as seconds since the epoch: an epoch number, or ISO 8601
/// (`2026-01-01`, `2026-01-01T10:00:00Z`, with fractions or an offset).
pub fn parse_date(s: &str) -> Option<f64> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    let b = t.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = t.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
    {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) as f64 * 86_400.0;
    let mut i = 10;
    if i == b.len() {
        return Some(secs);
    }
    if !matches!(b.get(i), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
    if b.get(i + 3) != Some(&b':') || h > 23 || m > 59 {
        return None;
    }
    secs += (h * 3600 + m * 60) as f64;
    i += 6;
    if b.get(i) == Some(&b':') {
        let sec = num(i + 1, 2)?;
        if sec > 60 {
            return None;
        }
        secs += sec as f64;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let frac: f64 = format!("0.{}", t.get(start..i)?).parse().ok()?;
            secs += frac;
        }
    }
    match b.get(i) {
        None => Some(secs),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(secs),
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1, 2)?;
            let om = match b.get(i + 3) {
                Some(b':') => num(i + 4, 2)?,
                _ => num(i + 3, 2)?,
            };
            let offset = (oh * 3600 + om * 60) as f64;
            Some(if sign == b'+' {
                secs - offset
            } else {
                secs + offset
            })
        }
        _ => None,
    }
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Is the address inside the policy's CIDR block (or equal to its address)?
fn ip_in(request: &str, policy: &str) -> bool {
    let Ok(addr) = request.trim().parse::<IpAddr>() else {
        return false;
    };
    let (net, bits) = match policy.trim().split_once('/') {
        Some((n, b)) => match b.parse::<u32>() {
            Ok(bits) => (n, bits),
            Err(_) => return false,
        },
        None => (policy.trim(), u32::MAX),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = bits.min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = bits.min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_operators_take_wildcards_in_every_part() {
        let ctx = Context::new();
        let arn = "arn:aws:iam::111122223333:role/Admin";
        let like = |p: &str| {
            let flat = resolve_with(p, &ctx, true).unwrap();
            arn_like(&flat, arn)
        };
        assert!(like("arn:aws:iam::*:role/*"));
        assert!(like("?rn:aws:iam::111122223333:role/Admin"));
        assert!(like("*:aws:iam::111122223333:role/Admin"));
        assert!(!like("a?n:aws:iam::111122223333:role/Admin-x"));
        assert!(!like("arn:aws:iam::111122223333"));
        // The request value must be an ARN.
        let flat = resolve_with("*:aws:s3:::b", &ctx, true).unwrap();
        assert!(!arn_like(&flat, "urn:aws:s3:::b"));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_date("1970-01-02"), Some(86_400.0));
        assert_eq!(parse_date("86400"), Some(86_400.0));
        assert_eq!(
            parse_date("2026-11-27T13:00:00+01:00"),
            parse_date("2026-11-27T12:00:00Z")
        );
        assert_eq!(
            parse_date("2026-11-27T12:00:00.500Z"),
            parse_date("2026-11-27T12:00:00Z").map(|s| s + 0.5)
        );
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn numbers_and_ips() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number("-1.5"), Some(-1.5));
        assert_eq!(parse_number("1e5"), None);
        assert_eq!(parse_number("nan"), None);
        assert!(ip_in("10.1.2.3", "10.0.0.0/8"));
        assert!(!ip_in("11.1.2.3", "10.0.0.0/8"));
        assert!(ip_in("203.0.113.7", "203.0.113.7"));
        assert!(ip_in("2001:db8::1", "2001:db8::/32"));
        assert!(!ip_in("2001:db9::1", "2001:db8::/32"));
        assert!(ip_in("1.2.3.4", "0.0.0.0/0"));
        assert!(!ip_in("1.2.3.4", "2001:db8::/32"));
    }
}
