//! Who used the window a bad trust opened: after a trust revert, ask
//! CloudTrail for the `AssumeRole*` calls on the role between the change and
//! the revert, in every configured region at once, a bounded number of
//! pages each (each page's time is bounded by the adapter:
//! [`crate::adapters::cloudtrail::OPERATION_TIMEOUT`]). A failed lookup is reported, never an error: the revert
//! stands whatever CloudTrail answers.

use crate::config::SessionLookup;
use crate::ports::Trail;
use crate::sessions::{RegionRecords, Span, Window};

/// Look up the window from `changed` (the bad change's time) to `now`, at
/// most `max_hours` back.
pub async fn who_used<T: Trail>(
    trail: &T,
    role_arn: &str,
    changed: Option<i64>,
    now: i64,
    settings: &SessionLookup,
) -> Window {
    let earliest = now - i64::from(settings.max_hours) * 3600;
    let from = changed.unwrap_or(earliest).clamp(earliest, now);
    let span = Span {
        role_arn,
        from,
        to: now,
        shortened: changed.is_some_and(|c| c < earliest),
    };
    let answers = futures_util::future::join_all(settings.regions.iter().map(|region| async {
        let answer = region_records(trail, region, role_arn, from, now, settings.max_pages)
            .await
            .map_err(|e| e.to_string());
        (region.clone(), answer)
    }))
    .await;
    Window::new(span, answers)
}

/// One region's records, page after page up to the cap.
async fn region_records<T: Trail>(
    trail: &T,
    region: &str,
    role_arn: &str,
    from: i64,
    to: i64,
    max_pages: u32,
) -> Result<RegionRecords, crate::ports::TrailError> {
    let mut out = RegionRecords::default();
    let mut token: Option<String> = None;
    for _ in 0..max_pages {
        let page = trail
            .lookup_events(region, role_arn, from, to, token.as_deref())
            .await?;
        out.records.extend(page.records);
        match page.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(out),
        }
    }
    out.truncated = true;
    Ok(out)
}
