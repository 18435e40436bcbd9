//! Masking of personal data: mobile numbers, resident ID-card numbers (check digit
//! verified), bank-card numbers (Luhn verified) and e-mail addresses.
//!
//! Masking replaces characters one for one with `*`, so character offsets computed
//! on masked text are valid for the original text too. Numbers that are not personal
//! data (order numbers, prices, quantities) are left alone: a digit run is masked only
//! when its length, prefix and checksum say it is a phone, ID or card number.

use std::borrow::Cow;

const MASK: char = '*';

/// Context words that mark a following number as an order/waybill number, which
/// is not personal data even when it happens to pass the Luhn check.
const ORDER_CONTEXT: [&str; 6] = ["订单", "单号", "运单", "快递单", "order", "编号"];

/// Masks personal data in `text`. Returns the input unchanged (borrowed) when
/// there is nothing to mask, so the common case allocates nothing.
pub fn mask(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| digit_value(c).is_some() || c == '@') {
        return Cow::Borrowed(text);
    }
    let mut chars: Vec<char> = text.chars().collect();
    let mut changed = mask_digit_runs(&mut chars);
    changed |= mask_emails(&mut chars);
    if changed {
        Cow::Owned(chars.into_iter().collect())
    } else {
        Cow::Borrowed(text)
    }
}

fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

/// Finds maximal runs of digits (allowing single spaces or hyphens between digit
/// groups, as in "6222 0200 1234 5678" or "138-1234-5678") and masks the ones
/// that are personal numbers.
fn mask_digit_runs(chars: &mut [char]) -> bool {
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        if digit_value(chars[i]).is_none() || (i > 0 && chars[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        // Collect positions of digits in this run.
        let mut positions = vec![i];
        let mut j = i + 1;
        while j < chars.len() {
            if digit_value(chars[j]).is_some() {
                positions.push(j);
                j += 1;
            } else if matches!(chars[j], ' ' | '-') && j + 1 < chars.len() && digit_value(chars[j + 1]).is_some() {
                j += 1;
            } else {
                break;
            }
        }
        // An ID card may end in the check character X.
        if positions.len() == 17 && j < chars.len() && matches!(chars[j], 'X' | 'x' | 'Ｘ') {
            positions.push(j);
            j += 1;
        }
        let followed_by_alnum = j < chars.len() && chars[j].is_ascii_alphanumeric();
        if !followed_by_alnum {
            let digits: Vec<char> = positions.iter().map(|&p| chars[p]).collect();
            let order_context = has_order_context(chars, i);
            if let Some(keep) = classify_number(&digits, order_context) {
                for &p in &positions[keep.0..positions.len() - keep.1] {
                    chars[p] = MASK;
                }
                changed = true;
            }
        }
        i = j.max(i + 1);
    }
    changed
}

fn has_order_context(chars: &[char], start: usize) -> bool {
    let from = start.saturating_sub(8);
    let before: String = chars[from..start].iter().collect::<String>().to_lowercase();
    ORDER_CONTEXT.iter().any(|w| before.contains(w))
}

/// Decides whether a digit string is personal data; returns how many leading and
/// trailing digits stay visible.
fn classify_number(digits: &[char], order_context: bool) -> Option<(usize, usize)> {
    let values: Vec<u32> = digits.iter().map(|&c| digit_value(c).unwrap_or(10)).collect();
    let n = values.len();
    if is_mobile(&values) {
        return Some((3, 4));
    }
    if n == 13 && values[0] == 8 && values[1] == 6 && is_mobile(&values[2..]) {
        return Some((5, 4));
    }
    if n == 18 && is_id_card(&values) {
        return Some((3, 4));
    }
    if (16..=19).contains(&n) && !order_context && values.iter().all(|&v| v < 10) && luhn_ok(&values) {
        return Some((0, 4));
    }
    None
}

/// Mainland mobile numbers: 11 digits, 1 then 3–9.
fn is_mobile(v: &[u32]) -> bool {
    v.len() == 11 && v[0] == 1 && (3..=9).contains(&v[1]) && v.iter().all(|&d| d < 10)
}

/// GB 11643 resident ID: 17 digits, a plausible birth date, and the ISO 7064 MOD 11-2
/// check character (10 written as X).
fn is_id_card(v: &[u32]) -> bool {
    if v[..17].iter().any(|&d| d >= 10) {
        return false;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [u32; 11] = [1, 0, 10, 9, 8, 7, 6, 5, 4, 3, 2];
    let sum: u32 = v[..17].iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    let year = v[6] * 1000 + v[7] * 100 + v[8] * 10 + v[9];
    let month = v[10] * 10 + v[11];
    let day = v[12] * 10 + v[13];
    (1900..=2100).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day) && CHECK[(sum % 11) as usize] == v[17]
}

fn luhn_ok(v: &[u32]) -> bool {
    let sum: u32 = v
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_email_local(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

/// Masks the local part of e-mail addresses, keeping its first character.
fn mask_emails(chars: &mut [char]) -> bool {
    let mut changed = false;
    for at in 0..chars.len() {
        if chars[at] != '@' {
            continue;
        }
        let mut start = at;
        while start > 0 && is_email_local(chars[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < chars.len() && (chars[end].is_ascii_alphanumeric() || matches!(chars[end], '.' | '-')) {
            end += 1;
        }
        let domain: String = chars[at + 1..end].iter().collect();
        let domain = domain.trim_end_matches('.');
        if at - start >= 1 && domain.contains('.') && !domain.starts_with('.') {
            for c in &mut chars[start + 1..at] {
                *c = MASK;
            }
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_mobile_numbers_in_several_formats() {
        assert_eq!(mask("电话13812345678找我"), "电话138****5678找我");
        assert_eq!(mask("打138-1234-5678"), "打138-****-5678");
        assert_eq!(mask("+8613812345678"), "+86138****5678");
        assert_eq!(mask("１３８１２３４５６７８"), "１３８****５６７８");
    }

    #[test]
    fn masks_id_card_only_with_valid_check_digit() {
        // 11010519491231002X is the standard's published example.
        assert_eq!(mask("身份证11010519491231002X"), "身份证110***********002X");
        assert_eq!(mask("身份证110105194912310021"), "身份证110105194912310021");
    }

    #[test]
    fn masks_luhn_valid_bank_cards_but_not_order_numbers() {
        assert_eq!(mask("卡号6222020200112233446"), "卡号***************3446");
        assert_eq!(mask("卡号 4111 1111 1111 1111"), "卡号 **** **** **** 1111");
        assert_eq!(mask("订单号4111111111111111"), "订单号4111111111111111");
        assert_eq!(mask("卡号4111111111111112"), "卡号4111111111111112");
    }

    #[test]
    fn leaves_prices_quantities_and_short_numbers() {
        for t in ["价格299元", "等了20分钟", "2024年3月5日", "订单123456789012", "型号X1234567890123"] {
            assert_eq!(mask(t), t);
        }
    }

    #[test]
    fn masks_email_local_part_keeping_length() {
        let m = mask("邮箱zhang.san@example.com联系");
        assert_eq!(m, "邮箱z********@example.com联系");
        assert_eq!(m.chars().count(), "邮箱zhang.san@example.com联系".chars().count());
    }
}
