//! Just enough calendar arithmetic for the report: parse the usual shapes of
//! `created_at` (2024-05-01 08:30, 2024/5/1, 2024年5月1日, ISO 8601, Unix seconds
//! or milliseconds) into minutes since 1970-01-01, and format them back.
//!
//! Times are taken as written (a time-zone suffix is ignored), since the
//! feedback team reads them in the zone the source system wrote; Unix
//! timestamps are shown in UTC.

/// A point in time parsed from `created_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// Minutes since 1970-01-01 00:00.
    pub minutes: i64,
    /// Whether the source carried a time of day (else midnight is implied).
    pub has_time: bool,
}

impl Stamp {
    /// Days since 1970-01-01.
    pub fn day(self) -> i64 {
        self.minutes.div_euclid(1440)
    }

    /// `2024-05-01 08:30`, or `2024-05-01` without a time.
    pub fn format(self) -> String {
        if self.has_time {
            format_minutes(self.minutes)
        } else {
            format_day(self.day())
        }
    }
}

/// Days from 1970-01-01 to a civil date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2024-05-01`.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `05-01`.
pub fn format_day_short(day: i64) -> String {
    let (_, m, d) = civil_from_days(day);
    format!("{m:02}-{d:02}")
}

/// `2024-05-01 08:30`.
pub fn format_minutes(minutes: i64) -> String {
    let day = minutes.div_euclid(1440);
    let rest = minutes.rem_euclid(1440);
    format!("{} {:02}:{:02}", format_day(day), rest / 60, rest % 60)
}

/// The current time (UTC), formatted like [`format_minutes`].
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    format_minutes(secs.div_euclid(60))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Reads a run of ASCII digits (at most `max`) from the front of `s`.
fn digits(s: &str, max: usize) -> Option<(u32, &str)> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// Parses `created_at`; `None` for anything not recognisably a date.
pub fn parse(s: &str) -> Option<Stamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && (s.len() == 10 || s.len() == 13) {
        let n: i64 = s.parse().ok()?;
        let secs = if s.len() == 13 { n / 1000 } else { n };
        return Some(Stamp { minutes: secs.div_euclid(60), has_time: true });
    }
    let (y, rest) = digits(s, 4)?;
    if !(1970..=2200).contains(&y) || s.len() - rest.len() != 4 {
        return None;
    }
    let rest = strip_one(rest, &["-", "/", ".", "年"])?;
    let (m, rest) = digits(rest, 2)?;
    let rest = strip_one(rest, &["-", "/", ".", "月"])?;
    let (d, rest) = digits(rest, 2)?;
    let y = y as i64;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let rest = rest.strip_prefix('日').unwrap_or(rest);
    let day = days_from_civil(y, m, d);
    let time = rest.strip_prefix(['T', ' ', 't']).map(str::trim_start).and_then(|t| {
        let (h, t) = digits(t, 2)?;
        let t = t.strip_prefix([':', '时', '點', '点'])?;
        let (mi, _) = digits(t, 2)?;
        (h < 24 && mi < 60).then_some(h as i64 * 60 + mi as i64)
    });
    Some(Stamp { minutes: day * 1440 + time.unwrap_or(0), has_time: time.is_some() })
}

fn strip_one<'a>(s: &'a str, seps: &[&str]) -> Option<&'a str> {
    seps.iter().find_map(|sep| s.strip_prefix(sep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for day in [-1000, 0, 1, 59, 60, 365, 10_957, 19_844, 20_000, 47_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(days_from_civil(2024, 2, 29)), "2024-02-29");
    }

    #[test]
    fn parses_common_shapes() {
        let p = |s: &str| parse(s).map(Stamp::format);
        assert_eq!(p("2024-05-01"), Some("2024-05-01".into()));
        assert_eq!(p("2024-05-01 08:30:12"), Some("2024-05-01 08:30".into()));
        assert_eq!(p("2024-05-01T08:30:00+08:00"), Some("2024-05-01 08:30".into()));
        assert_eq!(p("2024/5/1 8:05"), Some("2024-05-01 08:05".into()));
        assert_eq!(p("2024年5月1日"), Some("2024-05-01".into()));
        assert_eq!(p("1714552200"), Some("2024-05-01 08:30".into()));
        assert_eq!(p("1714552200000"), Some("2024-05-01 08:30".into()));
        assert_eq!(p("yesterday"), None);
        assert_eq!(p("2024-13-01"), None);
        assert_eq!(p("2023-02-29"), None);
        assert_eq!(p(""), None);
    }
}
