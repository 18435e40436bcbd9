//! Excel workbooks in and out of `triage classify`: the header found below a
//! title row in the sheet that has one, numbers and dates read as a CSV export
//! would hold them, bad rows located by sheet and row, and the flat view written
//! as a workbook that reads back in.

use std::path::Path;
use std::process::Command;

use calamine::{Data, Reader};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

fn classify(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_triage")).arg("classify").args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A workbook as a shop back end exports it: a notes sheet first, then the
/// feedback sheet with a title row above its header.
fn export_workbook(path: &Path) {
    let mut book = Workbook::new();
    book.add_worksheet().set_name("说明").unwrap().write_string(0, 0, "导出说明：每行一条评价").unwrap();
    let sheet = book.add_worksheet().set_name("反馈").unwrap();
    sheet.write_string(0, 0, "2024年5月评价导出").unwrap();
    for (col, name) in ["id", "text", "customer_tier", "created_at", "customer_value"].iter().enumerate() {
        sheet.write_string(1, col as u16, *name).unwrap();
    }
    let date_format = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    sheet.write_number(2, 0, 1001).unwrap();
    sheet.write_string(2, 1, "物流太慢了，等了一周").unwrap();
    sheet.write_string(2, 2, "vip").unwrap();
    sheet.write_datetime_with_format(2, 3, ExcelDateTime::parse_from_str("2024-05-01 08:30:00").unwrap(), &date_format).unwrap();
    sheet.write_number(2, 4, 1200).unwrap();
    // Row 4 (index 3) is left blank: a gap in the export, not a record.
    sheet.write_string(4, 0, "b").unwrap();
    sheet.write_string(4, 1, "   ").unwrap();
    sheet.write_string(5, 0, "c").unwrap();
    sheet.write_string(5, 1, "请问怎么修改收货地址？").unwrap();
    book.save(path).unwrap();
}

#[test]
fn workbook_rows_are_read_from_the_sheet_with_a_text_header() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.xlsx");
    export_workbook(&input);
    let out = dir.path().join("out.jsonl");
    let rejects = dir.path().join("rejects.jsonl");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--rejects", rejects.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let recs = lines(&out);
    assert_eq!(recs.iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>(), ["1001", "c"], "a whole-number id reads as 1001, not 1001.0");
    assert_eq!(recs[0]["category"], "problem");
    assert_eq!(recs[0]["customer_tier"], "vip");
    assert_eq!(recs[0]["created_at"], "2024-05-01 08:30:00", "a date cell is a date, not Excel's day count");
    assert_eq!(recs[0]["customer_value"], 1200.0);
    assert_eq!(recs[1]["category"], "enquiry");
    let rej = lines(&rejects);
    assert_eq!(rej.len(), 1);
    let in_name = input.display().to_string();
    assert_eq!(rej[0]["file"], format!("{in_name}[反馈]"));
    assert_eq!(rej[0]["line"], 5, "the row number Excel shows");
    assert!(rej[0]["reason"].as_str().unwrap().contains("empty text"));
    assert!(err.contains(&format!("{in_name}[反馈]:5: empty text")), "{err}");
    assert!(err.contains("read 3 / written 2 / rejected 1"), "{err}");
}

#[test]
fn xlsx_output_is_a_workbook_with_numeric_scores_that_reads_back_in() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, "{\"id\":\"a\",\"text\":\"房间很干净，早餐不错\"}\n{\"id\":\"b\",\"text\":\"花呗为什么用不了了\"}\n").unwrap();
    let out = dir.path().join("out.xlsx");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let mut book = calamine::open_workbook_auto(&out).expect("the output is a workbook (format taken from the extension)");
    let range = book.worksheet_range("triage").unwrap();
    let rows: Vec<&[Data]> = range.rows().collect();
    assert_eq!(rows.len(), 3);
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header, feedback_triage::output::FLAT_COLUMNS);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows[1][col("id")], Data::String("a".into()));
    assert_eq!(rows[1][col("category")], Data::String("praise".into()));
    assert_eq!(rows[2][col("category")], Data::String("problem".into()));
    assert!(matches!(rows[1][col("confidence")], Data::Float(c) if c > 0.0 && c <= 1.0), "{:?}", rows[1][col("confidence")]);
    assert!(matches!(rows[1][col("priority_score")], Data::Float(_)));
    assert_eq!(rows[2][col("text")], Data::String("花呗为什么用不了了".into()));

    let again = dir.path().join("again.jsonl");
    let (code, err) = classify(&["--input", out.to_str().unwrap(), "--output", again.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let recs = lines(&again);
    assert_eq!(recs.iter().map(|r| r["category"].as_str().unwrap()).collect::<Vec<_>>(), ["praise", "problem"]);
}

#[test]
fn unreadable_workbooks_are_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.xlsx");
    std::fs::write(&fake, "id,text\n1,这不是表格\n").unwrap();
    let (code, err) = classify(&["--input", fake.to_str().unwrap(), "--output", dir.path().join("o1.jsonl").to_str().unwrap()]);
    assert_ne!(code, 0, "nothing could be processed: {err}");
    assert!(err.contains("fake.xlsx:1: not a readable spreadsheet"), "{err}");

    let chinese_header = dir.path().join("chinese_header.xlsx");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("评价").unwrap();
    sheet.write_string(0, 0, "评价内容").unwrap();
    sheet.write_string(1, 0, "物流太慢了").unwrap();
    book.save(&chinese_header).unwrap();
    let out = dir.path().join("o2.jsonl");
    let (code, err) = classify(&["--input", chinese_header.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("no sheet has a `text` column") && err.contains("评价") && err.contains("--column text=NAME"), "{err}");

    let (code, err) = classify(&["--input", chinese_header.to_str().unwrap(), "--output", out.to_str().unwrap(), "--column", "text=评价内容"]);
    assert_eq!(code, 0, "the mapped column is the text: {err}");
    assert_eq!(lines(&out)[0]["category"], "problem");
}
