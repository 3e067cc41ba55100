//! IAM wildcard matching: `*` matches any run of characters, `?` exactly one.
//!
//! Used for actions (case-insensitive, as IAM compares them) and for the
//! configuration's role-name and path globs (case-sensitive).

/// Does `pattern` match the whole of `text`? ASCII case is ignored when
/// `ignore_case` is set. Linear in practice: one backtrack point, as in the
/// classic greedy-star algorithm.
pub fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let eq = |a: u8, b: u8| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&tc) = t.get(ti) {
        let pc = p.get(pi).copied();
        if pc == Some(b'*') {
            star = Some((pi, ti));
            pi += 1;
        } else if pc.is_some_and(|pc| pc == b'?' || eq(pc, tc)) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|&c| c == b'*')
}

/// Does the text hold an IAM wildcard?
pub fn has_wildcard(text: &str) -> bool {
    text.bytes().any(|c| c == b'*' || c == b'?')
}

/// Is the text nothing but wildcards (`*`, `**`, `*?`...)?
pub fn is_only_wildcards(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|c| c == b'*' || c == b'?') && text.contains('*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_case() {
        assert!(matches("s3:GetObject", "s3:getobject", true));
        assert!(!matches("s3:GetObject", "s3:getobject", false));
        assert!(!matches("s3:GetObject", "s3:GetObjectAcl", true));
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("*", "", true));
        assert!(matches("*", "anything:at-all", true));
        assert!(matches("s3:Get*", "s3:GetObject", true));
        assert!(matches("iam:*Role*", "iam:PassRole", true));
        assert!(matches("iam:*Role*", "iam:CreateRolePolicy", true));
        assert!(!matches("iam:*Role*", "iam:CreateUser", true));
        assert!(matches("s3:?etObject", "s3:GetObject", true));
        assert!(!matches("s3:?etObject", "s3:etObject", true));
        assert!(matches("a*b*c", "aXXbYYc", false));
        assert!(!matches("a*b*c", "aXXbYY", false));
        assert!(matches("a**", "a", false));
    }

    #[test]
    fn wildcard_helpers() {
        assert!(has_wildcard("repo:org/*"));
        assert!(!has_wildcard("repo:org/app"));
        assert!(is_only_wildcards("*"));
        assert!(is_only_wildcards("*?"));
        assert!(!is_only_wildcards("?"));
        assert!(!is_only_wildcards("a*"));
    }
}
