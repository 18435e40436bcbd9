//! The report's charts: inline SVG drawn with plotters' SVG backend (no fonts
//! or files needed; text is left to the page's CSS fonts).
//!
//! Each function returns one `<svg class="chart">` element, sized in pixels
//! but scaled to its container by the page's CSS. Every label passes through
//! plotters' SVG escaping.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Any failure of the drawing backend (writing to a `String` does not fail in
/// practice).
pub type ChartResult = Result<String, Box<dyn std::error::Error>>;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

pub const INK: RGBColor = RGBColor(0x1f, 0x29, 0x37);
pub const MUTED: RGBColor = RGBColor(0x6b, 0x72, 0x80);
pub const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);
pub const TRACK: RGBColor = RGBColor(0xf3, 0xf4, 0xf6);
pub const ACCENT: RGBColor = RGBColor(0x25, 0x63, 0xeb);
pub const RISE: RGBColor = RGBColor(0xdc, 0x26, 0x26);
pub const SPIKE: RGBColor = RGBColor(0x99, 0x1b, 0x1b);
pub const FALL: RGBColor = RGBColor(0x25, 0x63, 0xeb);

/// A text style of `px` CSS pixels (plotters' SVG backend writes size / 1.24).
fn font<'a>(px: f64, color: &'a RGBColor, h: HPos) -> TextStyle<'a> {
    TextStyle::from(("sans-serif", px * 1.24).into_font()).color(color).pos(Pos::new(h, VPos::Center))
}

fn bold<'a>(px: f64, color: &'a RGBColor, h: HPos) -> TextStyle<'a> {
    TextStyle::from(("sans-serif", px * 1.24).into_font().style(FontStyle::Bold)).color(color).pos(Pos::new(h, VPos::Center))
}

/// Rough rendered width of `s` at `px`: CJK characters are square, Latin about half.
pub fn text_width(s: &str, px: f64) -> f64 {
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                if c.is_ascii_uppercase() {
                    0.66
                } else {
                    0.55
                }
            } else {
                1.0
            }
        })
        .sum::<f64>()
        * px
}

/// Shortens `s` to about `max_px` of width, with an ellipsis.
pub fn fit(s: &str, px: f64, max_px: f64) -> String {
    if text_width(s, px) <= max_px {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = text_width("…", px);
    for c in s.chars() {
        w += text_width(c.encode_utf8(&mut [0; 4]), px);
        if w > max_px {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn svg(width: u32, height: u32, label: &str, draw: impl FnOnce(&Area<'_>) -> DrawResult) -> ChartResult {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (width, height)).into_drawing_area();
        draw(&root)?;
        root.present()?;
    }
    Ok(finish(buf, label))
}

/// Makes the backend's SVG an inline chart: no XML namespace URL (an inline
/// `<svg>` in HTML does not need it, and the page then names no web address),
/// a class for the CSS, and an accessible name.
fn finish(svg: String, label: &str) -> String {
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    let label = escape(label);
    let Some(end) = svg.find('>') else { return svg };
    let (open, rest) = svg.split_at(end);
    let open = open.replacen("<svg", &format!("<svg class=\"chart\" role=\"img\" aria-label=\"{label}\""), 1);
    format!("{open}><title>{label}</title>{}", &rest[1..])
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn rect(area: &Area<'_>, x0: i32, y0: i32, x1: i32, y1: i32, color: &RGBColor) -> DrawResult {
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], color.filled()))?;
    Ok(())
}

fn text(area: &Area<'_>, s: &str, x: i32, y: i32, style: &TextStyle<'_>) -> DrawResult {
    if !s.is_empty() {
        area.draw(&Text::new(s.to_string(), (x, y), style.clone()))?;
    }
    Ok(())
}

/// One slice of a share chart.
pub struct Slice {
    pub zh: String,
    pub en: String,
    pub count: u64,
    pub color: RGBColor,
}

/// A donut of shares with a legend (count and percentage per slice).
pub fn donut(label: &str, slices: &[Slice], center_caption: (&str, &str)) -> ChartResult {
    let total: u64 = slices.iter().map(|s| s.count).sum();
    let (w, h) = (600u32, 240u32);
    svg(w, h, label, |root| {
        let center = (120, 120);
        let radius = 104.0;
        let hole = 66.0;
        let shown: Vec<&Slice> = slices.iter().filter(|s| s.count > 0).collect();
        if shown.is_empty() {
            root.draw(&Circle::new(center, 104, TRACK.filled()))?;
        } else {
            let sizes: Vec<f64> = shown.iter().map(|s| s.count as f64).collect();
            let colors: Vec<RGBColor> = shown.iter().map(|s| s.color).collect();
            let labels: Vec<&str> = shown.iter().map(|_| "").collect();
            let mut pie = Pie::new(&center, &radius, &sizes, &colors, &labels);
            pie.start_angle(-90.0);
            pie.donut_hole(hole);
            root.draw(&pie)?;
        }
        root.draw(&Circle::new(center, hole as i32, WHITE.filled()))?;
        text(root, &group_digits(total), center.0, center.1 - 8, &bold(26.0, &INK, HPos::Center))?;
        text(root, &format!("{} {}", center_caption.0, center_caption.1), center.0, center.1 + 18, &font(12.0, &MUTED, HPos::Center))?;

        let x = 262;
        let row = 46;
        let top = 120 - (slices.len() as i32 * row) / 2 + row / 2;
        for (i, s) in slices.iter().enumerate() {
            let y = top + i as i32 * row;
            rect(root, x, y - 8, x + 16, y + 8, &s.color)?;
            text(root, &s.zh, x + 26, y, &bold(15.0, &INK, HPos::Left))?;
            let en_x = x + 26 + text_width(&s.zh, 15.0) as i32 + 8;
            text(root, &s.en, en_x, y + 1, &font(12.0, &MUTED, HPos::Left))?;
            let pct = if total == 0 { 0.0 } else { s.count as f64 * 100.0 / total as f64 };
            text(root, &format!("{pct:.1}%"), w as i32 - 12, y, &bold(15.0, &INK, HPos::Right))?;
            text(root, &group_digits(s.count), w as i32 - 84, y, &font(13.0, &MUTED, HPos::Right))?;
            // A thin share track under the row.
            let track_x1 = w as i32 - 12;
            rect(root, x + 26, y + 14, track_x1, y + 17, &TRACK)?;
            let filled = x + 26 + ((track_x1 - x - 26) as f64 * pct / 100.0).round() as i32;
            if filled > x + 26 {
                rect(root, x + 26, y + 14, filled, y + 17, &s.color)?;
            }
        }
        Ok(())
    })
}

/// One row of a bar chart.
pub struct Bar {
    pub zh: String,
    pub en: String,
    pub value: u64,
    pub color: RGBColor,
    /// Shown after the value (e.g. a share).
    pub note: String,
}

/// Horizontal bars with labels on the left and values at the bar ends.
pub fn bars(label: &str, rows: &[Bar]) -> ChartResult {
    let w = 560u32;
    let row = 34;
    let h = (rows.len().max(1) as i32 * row + 16) as u32;
    let max = rows.iter().map(|r| r.value).max().unwrap_or(0).max(1);
    svg(w, h, label, |root| {
        let label_w = 150;
        let value_w = 120;
        let x0 = label_w;
        let span = w as i32 - label_w - value_w;
        for (i, r) in rows.iter().enumerate() {
            let y = 8 + i as i32 * row + row / 2;
            text(root, &r.zh, 8, y, &bold(14.0, &INK, HPos::Left))?;
            if !r.en.is_empty() {
                text(root, &r.en, 8 + text_width(&r.zh, 14.0) as i32 + 6, y + 1, &font(12.0, &MUTED, HPos::Left))?;
            }
            rect(root, x0, y - 9, x0 + span, y + 9, &TRACK)?;
            let len = (span as f64 * r.value as f64 / max as f64).round() as i32;
            if len > 0 {
                rect(root, x0, y - 9, x0 + len.max(2), y + 9, &r.color)?;
            }
            text(root, &group_digits(r.value), x0 + span + 10, y, &bold(14.0, &INK, HPos::Left))?;
            if !r.note.is_empty() {
                let nx = x0 + span + 10 + text_width(&group_digits(r.value), 14.0) as i32 + 6;
                text(root, &r.note, nx, y + 1, &font(12.0, &MUTED, HPos::Left))?;
            }
        }
        Ok(())
    })
}

/// One stacked row: a label and the value of each series.
pub struct Stack {
    pub label: String,
    pub values: Vec<u64>,
}

/// Horizontal stacked bars (e.g. departments by urgency) with a legend on top.
pub fn stacked(label: &str, series: &[(String, RGBColor)], rows: &[Stack]) -> ChartResult {
    let w = 720u32;
    let row = 32;
    let legend_h = 34;
    let h = (legend_h + rows.len().max(1) as i32 * row + 10) as u32;
    let max = rows.iter().map(|r| r.values.iter().sum::<u64>()).max().unwrap_or(0).max(1);
    svg(w, h, label, |root| {
        let mut lx = 150;
        for (name, color) in series {
            rect(root, lx, 10, lx + 12, 22, color)?;
            text(root, name, lx + 18, 16, &font(13.0, &INK, HPos::Left))?;
            lx += 18 + text_width(name, 13.0) as i32 + 22;
        }
        let x0 = 150;
        let span = w as i32 - x0 - 80;
        for (i, r) in rows.iter().enumerate() {
            let y = legend_h + i as i32 * row + row / 2;
            text(root, &fit(&r.label, 14.0, 136.0), 8, y, &bold(14.0, &INK, HPos::Left))?;
            rect(root, x0, y - 9, x0 + span, y + 9, &TRACK)?;
            let mut x = x0;
            let mut acc = 0u64;
            for (v, (_, color)) in r.values.iter().zip(series) {
                acc += v;
                let end = x0 + (span as f64 * acc as f64 / max as f64).round() as i32;
                if *v > 0 && end > x {
                    rect(root, x, y - 9, end, y + 9, color)?;
                    x = end;
                }
            }
            text(root, &group_digits(acc), x0 + span + 10, y, &bold(14.0, &INK, HPos::Left))?;
        }
        Ok(())
    })
}

/// Items per time bucket as an area chart; `points` are (day number, count),
/// each bucket `bucket_days` wide.
pub fn volume(label: &str, points: &[(i64, u64)], bucket_days: i64) -> ChartResult {
    let (w, h) = (960u32, 240u32);
    svg(w, h, label, |root| {
        let first = points.first().map_or(0, |p| p.0);
        let last = points.last().map_or(1, |p| p.0).max(first + 1);
        let ymax = points.iter().map(|p| p.1).max().unwrap_or(1).max(1) as f64 * 1.12;
        let mut chart = ChartBuilder::on(root)
            .margin_top(14)
            .margin_right(24)
            .margin_left(8)
            .margin_bottom(6)
            .x_label_area_size(30)
            .y_label_area_size(56)
            .build_cartesian_2d(first..last, 0.0..ymax)?;
        let x_fmt = |x: &i64| super::dates::format_day_short(*x);
        let y_fmt = |y: &f64| group_digits(y.round() as u64);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID.stroke_width(1))
            .axis_style(GRID.stroke_width(1))
            .x_labels(points.len().clamp(2, 10))
            .y_labels(5)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(TextStyle::from(("sans-serif", 12.0 * 1.24).into_font()).color(&MUTED))
            .draw()?;
        let series: Vec<(i64, f64)> = points.iter().map(|&(d, c)| (d, c as f64)).collect();
        chart.draw_series(AreaSeries::new(series.iter().copied(), 0.0, ACCENT.mix(0.15)).border_style(ACCENT.stroke_width(2)))?;
        if series.len() <= 62 {
            chart.draw_series(series.iter().map(|&p| Circle::new(p, 3, ACCENT.filled())))?;
        }
        let _ = bucket_days;
        Ok(())
    })
}

/// One row of a diverging chart: a change in percentage points.
pub struct Change {
    pub label: String,
    pub change: f64,
    pub color: RGBColor,
    pub note: String,
}

/// Bars left (fell) and right (rose) of a zero line.
pub fn diverging(label: &str, rows: &[Change]) -> ChartResult {
    let w = 860u32;
    let row = 28;
    let h = (rows.len().max(1) as i32 * row + 20) as u32;
    let max = rows.iter().map(|r| r.change.abs()).fold(0.0f64, f64::max).max(1e-9);
    svg(w, h, label, |root| {
        let label_w = 220;
        let note_w = 150;
        let span = (w as i32 - label_w - 2 * note_w) / 2;
        let zero = label_w + note_w + span;
        root.draw(&PathElement::new(vec![(zero, 4), (zero, h as i32 - 4)], MUTED.stroke_width(1)))?;
        for (i, r) in rows.iter().enumerate() {
            let y = 10 + i as i32 * row + row / 2;
            text(root, &fit(&r.label, 14.0, (label_w - 16) as f64), 8, y, &font(14.0, &INK, HPos::Left))?;
            let len = ((span as f64) * r.change.abs() / max).round().max(2.0) as i32;
            if r.change >= 0.0 {
                rect(root, zero, y - 8, zero + len, y + 8, &r.color)?;
                text(root, &r.note, zero + len + 6, y, &font(12.0, &INK, HPos::Left))?;
            } else {
                rect(root, zero - len, y - 8, zero, y + 8, &r.color)?;
                text(root, &r.note, zero - len - 6, y, &font(12.0, &INK, HPos::Right))?;
            }
        }
        Ok(())
    })
}

/// 1234567 → "1,234,567".
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(300_000), "300,000");
    }

    #[test]
    fn charts_are_inline_svg_without_urls() {
        let svg = bars("测试 <chart>", &[Bar { zh: "物流<部>".into(), en: "x".into(), value: 3, color: RISE, note: "50%".into() }]).unwrap();
        assert!(svg.starts_with("<svg class=\"chart\""), "{svg}");
        assert!(!svg.contains("http"), "{svg}");
        assert!(svg.contains("<title>测试 &lt;chart&gt;</title>"));
        assert!(svg.contains("物流&lt;部&gt;"));
        let d = donut("d", &[], ("条", "items")).unwrap();
        assert!(d.contains("<circle"));
    }
}
