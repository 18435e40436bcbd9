//! The `triage` binary end to end: every input format, every kind of bad input,
//! row accounting, identical output across thread counts, atomic output, PII.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn triage() -> Command {
    Command::new(env!("CARGO_BIN_EXE_triage"))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Runs classify; returns (exit code, stderr).
fn classify(args: &[&str]) -> (i32, String) {
    let out = triage().arg("classify").args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn jsonl_in_order_with_contract_fields_and_passthrough() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "in.jsonl",
        "{\"id\":\"a\",\"text\":\"物流太慢了，等了一周\",\"shop\":\"s1\"}\n{\"id\":\"b\",\"text\":\"请问怎么修改收货地址？\"}\n{\"text\":\"客服态度很好，点赞\"}\n".as_bytes(),
    );
    let out = dir.path().join("out.jsonl");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let recs = lines(&out);
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0]["id"], "a");
    assert_eq!(recs[1]["id"], "b");
    assert_eq!(recs[2]["id"], "3", "records without id are named by their line");
    assert_eq!(recs[0]["shop"], "s1", "unknown fields pass through");
    for r in &recs {
        for field in ["id", "category", "confidence", "scores", "labels", "keywords", "priority"] {
            assert!(r.get(field).is_some(), "missing {field} in {r}");
        }
        let p = &r["priority"];
        for field in ["score", "level", "impact", "value", "cost"] {
            assert!(p.get(field).is_some(), "missing priority.{field}");
        }
        assert_eq!(r["labels"][0], r["category"], "primary label first");
    }
    assert_eq!(recs[0]["category"], "problem");
    assert_eq!(recs[1]["category"], "enquiry");
    assert_eq!(recs[2]["category"], "praise");
    assert!(err.contains("read 3 / written 3 / rejected 0"), "{err}");
}

#[test]
fn csv_and_tsv_with_gbk_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let csv_text = "id,text,customer_tier\n1,\"房间很干净，早餐不错\",vip\n2,\"花呗为什么用不了了\",\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(csv_text);
    let input = write(dir.path(), "gbk.csv", &gbk);
    let out = dir.path().join("out.jsonl");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let recs = lines(&out);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["text"], "房间很干净，早餐不错");
    assert_eq!(recs[0]["customer_tier"], "vip");
    assert_eq!(recs[1]["category"], "problem");

    let tsv = write(dir.path(), "in.tsv", "text\tid\n物流很快\tx1\n".as_bytes());
    let out_csv = dir.path().join("out.csv");
    let (code, err) = classify(&["--input", tsv.to_str().unwrap(), "--output", out_csv.to_str().unwrap(), "--output-format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(&out_csv).unwrap();
    assert!(written.starts_with("id,category,confidence"), "{written}");
    assert!(written.contains("x1,praise"), "{written}");
}

#[test]
fn csv_output_for_excel_carries_a_byte_order_mark_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.jsonl", "{\"id\":\"x1\",\"text\":\"物流很快\"}\n".as_bytes());
    let plain = dir.path().join("plain.csv");
    let excel = dir.path().join("excel.csv");
    assert_eq!(classify(&["--input", input.to_str().unwrap(), "--output", plain.to_str().unwrap()]).0, 0);
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", excel.to_str().unwrap(), "--bom"]);
    assert_eq!(code, 0, "{err}");
    let plain = std::fs::read(&plain).unwrap();
    let excel = std::fs::read(&excel).unwrap();
    assert!(plain.starts_with(b"id,category"), "no mark by default");
    assert_eq!(&excel[..3], b"\xEF\xBB\xBF");
    assert_eq!(&excel[3..], &plain[..], "the mark is the only difference");

    // Our own reader takes the marked file back: its first column is still `id`.
    let back = dir.path().join("back.jsonl");
    let (code, err) = classify(&["--input", dir.path().join("excel.csv").to_str().unwrap(), "--output", back.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&back)[0]["id"], "x1");

    // A mark in JSONL would be invalid JSON text: refused, not silently dropped.
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", dir.path().join("o.jsonl").to_str().unwrap(), "--bom"]);
    assert_ne!(code, 0);
    assert!(err.contains("--bom") && err.contains("jsonl"), "{err}");
}

#[test]
fn bad_rows_are_located_counted_and_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = Vec::new();
    data.extend_from_slice("{\"id\":\"ok1\",\"text\":\"质量很好\"}\n".as_bytes());
    data.extend_from_slice(b"this is not json\n");
    data.extend_from_slice("{\"id\":\"e\",\"text\":\"   \"}\n".as_bytes());
    data.extend_from_slice("{\"id\":\"m\",\"body\":\"no text field\"}\n".as_bytes());
    data.extend_from_slice(b"{\"id\":\"bin\",\"text\":\"\xff\xfe\xfd\x80\"}\n");
    let long = "差".repeat(400_000); // 1.2 MB on one line
    data.extend_from_slice(format!("{{\"id\":\"long\",\"text\":\"{long}\"}}\n").as_bytes());
    data.extend_from_slice("{\"id\":\"ok2\",\"text\":\"送餐太慢\"}\n".as_bytes());
    let input = write(dir.path(), "mixed.jsonl", &data);
    let out = dir.path().join("out.jsonl");
    let rejects = dir.path().join("rejects.jsonl");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--rejects", rejects.to_str().unwrap()]);
    assert_eq!(code, 0, "rejects alone do not fail a run: {err}");
    let ok = lines(&out);
    let rej = lines(&rejects);
    assert_eq!(ok.iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>(), ["ok1", "ok2"]);
    assert_eq!(rej.len(), 5);
    let reasons: Vec<(u64, String)> = rej.iter().map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_string())).collect();
    assert_eq!(reasons[0].0, 2);
    assert!(reasons[0].1.contains("not JSON"));
    assert!(reasons[1].1.contains("empty text"));
    assert!(reasons[2].1.contains("missing `text`"));
    assert!(reasons[3].1.contains("UTF-8"));
    assert!(reasons[4].1.contains("too long"), "{:?}", reasons[4]);
    for r in &rej {
        assert!(r["file"].as_str().unwrap().ends_with("mixed.jsonl"));
    }
    assert!(err.contains("mixed.jsonl:2: not JSON"), "{err}");
    assert!(err.contains("read 7 / written 2 / rejected 5"), "{err}");

    let (code, _) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--strict", "-q"]);
    assert_eq!(code, 1, "--strict fails on rejects");
}

#[test]
fn columns_named_otherwise_are_mapped_to_record_fields() {
    let dir = tempfile::tempdir().unwrap();
    let csv_text = "订单号,评价内容,text,用户等级\nA1,物流太慢了，等了一周,备注,vip\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(csv_text);
    let input = write(dir.path(), "export.csv", &gbk);
    let out = dir.path().join("out.jsonl");
    let args = ["--column", "text=评价内容", "--column", "id=订单号", "--column", "customer_tier=用户等级"];
    let (code, err) = classify(&[&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()], &args[..]].concat());
    assert_eq!(code, 0, "{err}");
    let rec = &lines(&out)[0];
    assert_eq!((rec["id"].as_str(), rec["text"].as_str(), rec["customer_tier"].as_str()), (Some("A1"), Some("物流太慢了，等了一周"), Some("vip")));
    assert_eq!(rec["original_text"], "备注", "a column the mapping displaces passes through under another name");
    assert_eq!(rec["category"], "problem");

    let jsonl = write(dir.path(), "in.jsonl", "{\"内容\":\"请问怎么修改收货地址？\"}\n".as_bytes());
    let (code, err) = classify(&["--input", jsonl.to_str().unwrap(), "--output", out.to_str().unwrap(), "--column", "text=内容"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&out)[0]["category"], "enquiry");

    let (code, err) = classify(&["--input", jsonl.to_str().unwrap(), "--output", out.to_str().unwrap(), "--column", "body=内容"]);
    assert_eq!(code, 2, "a usage error: {err}");
    assert!(err.contains("not a record field"), "{err}");
    let (code, err) = classify(&["--input", jsonl.to_str().unwrap(), "--output", out.to_str().unwrap(), "--column", "text=内容", "--column", "text=x"]);
    assert_ne!(code, 0);
    assert!(err.contains("already mapped"), "{err}");
}

#[test]
fn csv_wrong_field_count_and_missing_text_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "bad.csv", "id,text\n1,物流很快\n2,太慢,extra\n3,还不错\n".as_bytes());
    let out = dir.path().join("out.jsonl");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(lines(&out).len(), 2);
    assert!(err.contains("bad.csv:3: expected 2 fields, found 3"), "{err}");

    let no_text = write(dir.path(), "notext.csv", "id,body\n1,物流很快\n".as_bytes());
    let (code, err) = classify(&["--input", no_text.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_eq!(code, 1, "nothing processed is a failure");
    assert!(err.contains("no `text` column"), "{err}");
}

#[test]
fn output_is_identical_across_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = String::new();
    let texts = ["物流太慢了", "请问怎么退款", "希望增加夜间模式", "服务很好，下次还来", "登录失败，一直进不去"];
    for i in 0..600 {
        data.push_str(&format!("{{\"id\":\"{i}\",\"text\":\"{}第{i}次\"}}\n", texts[i % texts.len()]));
    }
    let input = write(dir.path(), "in.jsonl", data.as_bytes());
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("out{threads}.jsonl"));
        let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--threads", threads, "-q"]);
        assert_eq!(code, 0, "{err}");
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    assert_eq!(String::from_utf8_lossy(&outputs[0]).lines().count(), 600);
}

#[test]
fn failed_run_leaves_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    std::fs::write(&out, "previous complete output\n").unwrap();
    // A missing model file fails the run before anything is written.
    let input = write(dir.path(), "in.jsonl", "{\"text\":\"好\"}\n".as_bytes());
    let (code, _) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--model", "/nonexistent/model.json"]);
    assert_ne!(code, 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous complete output\n");
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(".triage-partial")).collect();
    assert!(leftovers.is_empty());
}

#[cfg(unix)]
#[test]
fn output_to_a_device_writes_through_it_and_leaves_it_a_device() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.jsonl", "{\"text\":\"物流太慢了\"}\n".as_bytes());
    // An atomic rename onto /dev/null, run as root, used to replace the device
    // with a plain file and break every later `> /dev/null` on the machine.
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", "/dev/null"]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device(), "/dev/null is no longer a device");
    // A directory is neither a file to replace nor a device: a clear error, before any work.
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", dir.path().to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains(dir.path().to_str().unwrap()), "{err}");
}

#[test]
fn personal_data_is_masked_in_output_and_rejects_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "pii.jsonl",
        "{\"id\":\"p\",\"text\":\"手机13812345678，卡号6222020200112233446，订单号4111111111111111，价格299元\",\"note\":\"邮箱zhang@example.com\"}\n{\"id\":\"q\",\"text\":\"\",\"phone\":\"13912345678\"}\n".as_bytes(),
    );
    let out = dir.path().join("out.jsonl");
    let rejects = dir.path().join("rej.jsonl");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--rejects", rejects.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let all = std::fs::read_to_string(&out).unwrap() + &std::fs::read_to_string(&rejects).unwrap() + &err;
    for secret in ["13812345678", "6222020200112233446", "zhang@example.com", "13912345678"] {
        assert!(!all.contains(secret), "{secret} leaked");
    }
    assert!(all.contains("4111111111111111"), "order numbers are not personal data");
    assert!(all.contains("299元"));
    let (code, _) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "--keep-pii", "-q"]);
    assert_eq!(code, 0);
    assert!(std::fs::read_to_string(&out).unwrap().contains("13812345678"));
}

#[test]
fn stdin_to_stdout() {
    let mut child = triage().args(["classify", "-q"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all("{\"text\":\"屏幕很清晰\"}\n".as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["category"], "praise");
}

#[test]
fn eval_agrees_with_its_own_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let gold = write(
        dir.path(),
        "gold.jsonl",
        "{\"id\":\"g1\",\"text\":\"物流太慢了\",\"category\":\"problem\",\"labels\":[\"problem\"],\"opinions\":[[\"物流\",\"慢\",\"negative\"]]}\n{\"id\":\"g2\",\"text\":\"请问怎么退款\",\"category\":\"enquiry\",\"labels\":[\"enquiry\"],\"opinions\":[]}\n".as_bytes(),
    );
    let out = triage().args(["eval", "--gold", gold.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("accuracy: 1.0000"), "{text}");
    assert!(text.contains("confusion"), "{text}");
}

#[test]
fn eval_reads_gold_labels_of_corpus_rows_by_reference() {
    let dir = tempfile::tempdir().unwrap();
    let corpora = dir.path().join("corpora");
    std::fs::create_dir(&corpora).unwrap();
    write(&corpora, "online_shopping_10_cats.csv", "cat,label,review\n水果,0,物流太慢了，等了一周\n".as_bytes());
    write(&corpora, "ChnSentiCorp_htl_all.csv", "label,review\n1,房间很干净，服务很好\n".as_bytes());
    write(&corpora, "atec_nlp_sim_train.csv", "1\t请问怎么修改收货地址\t怎么改地址\t1\n".as_bytes());
    let refs = concat!(
        "{\"corpus\":\"online_shopping_10_cats\",\"row\":1,\"category\":\"problem\",\"labels\":[\"problem\"]}\n",
        "{\"corpus\":\"ChnSentiCorp_htl_all\",\"row\":1,\"category\":\"praise\",\"labels\":[\"praise\"]}\n",
        "{\"corpus\":\"atec_nlp_sim_train\",\"row\":1,\"col\":\"s1\",\"category\":\"enquiry\",\"labels\":[\"enquiry\"]}\n",
    );
    let gold = write(dir.path(), "rows.jsonl", refs.as_bytes());
    let out = triage().args(["eval", "--gold", gold.to_str().unwrap(), "--corpora", corpora.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("items: 3") && text.contains("accuracy: 1.0000"), "{text}");
}

#[test]
fn bad_model_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.jsonl", "{\"text\":\"好\"}\n".as_bytes());
    let corrupt = write(dir.path(), "corrupt.json", b"{\"format\": \"feedback-triage-model\", \"version\": 2, \"sentiment\": 5}");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--model", corrupt.to_str().unwrap(), "-q"]);
    assert_eq!(code, 2);
    assert!(err.contains("corrupt model"), "{err}");
    let other = write(dir.path(), "v9.json", b"{\"format\": \"feedback-triage-model\", \"version\": 9}");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--model", other.to_str().unwrap(), "-q"]);
    assert_eq!(code, 2);
    assert!(err.contains("format version 9"), "{err}");
    let garbage = write(dir.path(), "garbage.bin", b"\x00\x01garbage");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--model", garbage.to_str().unwrap(), "-q"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a model file") || err.contains("stream did not contain valid UTF-8"), "{err}");
}

#[test]
fn input_labels_are_kept_apart_from_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "gold.jsonl",
        "{\"id\":\"g\",\"text\":\"请问怎么退款\",\"category\":\"enquiry\",\"opinions\":[[\"物流\",\"慢\",\"negative\"]]}\n".as_bytes(),
    );
    let out = dir.path().join("out.jsonl");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{err}");
    let rec = &lines(&out)[0];
    assert!(rec.get("opinions").is_none(), "gold opinions must not look like predictions");
    assert_eq!(rec["input_labels"]["opinions"][0][0], "物流");
    assert_eq!(rec["input_labels"]["category"], "enquiry");
}

#[test]
fn probabilities_are_written_with_four_decimals() {
    // An f32 written through JSON's f64 would print as 0.9998000264167786.
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.jsonl", "{\"text\":\"外卖送得太慢了，饭都凉了\"}\n{\"text\":\"房间很干净，早餐丰富\"}\n".as_bytes());
    let out = dir.path().join("out.jsonl");
    let (code, err) = classify(&["--input", input.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for rec in lines(&out) {
        let mut numbers = vec![rec["confidence"].clone()];
        numbers.extend(rec["scores"].as_object().unwrap().values().cloned());
        assert_eq!(numbers.len(), 5);
        for n in numbers {
            let written = n.to_string();
            let decimals = written.split('.').nth(1).map_or(0, str::len);
            assert!(decimals <= 4, "{written} in {rec}");
        }
    }
}

#[test]
fn train_refuses_an_item_weight_it_cannot_apply() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let train = |extra: &[&str]| {
        let out = triage().args(["train", "--output", model.to_str().unwrap()]).args(extra).output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = train(&["--item-weight", "train.jsonl"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected FILE=N"), "{err}");
    let (code, err) = train(&["--item-weight", "train.jsonl=0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("weight of 0"), "{err}");
    // A weight for a file that is not read would silently change nothing.
    let gold = write(dir.path(), "g.jsonl", "{\"id\":\"g1\",\"text\":\"物流太慢了\",\"category\":\"problem\"}\n".as_bytes());
    let labels = dir.path().join("labels");
    std::fs::create_dir(&labels).unwrap();
    let other = dir.path().join("other.jsonl");
    let weight = format!("{}=3", other.display());
    let (code, err) = train(&["--gold", gold.to_str().unwrap(), "--labels", labels.to_str().unwrap(), "--item-weight", &weight]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("--item-weight") && err.contains("not one of the labelled files read"), "{err}");
    assert!(!model.exists());
}
