//! Which input column holds each record field. Exports from shop back ends and
//! ticket systems name their columns in Chinese (评价内容, 用户等级, 评价时间); a
//! map read as `text=评价内容` lets such a file be classified as it is.

use std::borrow::Cow;

/// The record fields a column can be mapped to.
pub const FIELDS: [&str; 6] = ["text", "id", "customer_tier", "customer_value", "channel", "created_at"];

/// Column renames, applied to a CSV/TSV or sheet header and to JSONL keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    /// (column as the file names it, record field it is read as)
    renames: Vec<(String, String)>,
}

impl ColumnMap {
    /// A map from `FIELD=COLUMN` specifications; an unknown field, a field named
    /// twice or a column named twice is an error.
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<Self, String> {
        let mut renames: Vec<(String, String)> = Vec::new();
        for spec in specs {
            let spec = spec.as_ref();
            let (field, column) = spec.split_once('=').ok_or_else(|| format!("`{spec}`: expected FIELD=COLUMN, such as text=评价内容"))?;
            let (field, column) = (field.trim(), column.trim());
            if !FIELDS.contains(&field) {
                return Err(format!("`{spec}`: `{field}` is not a record field (one of {})", FIELDS.join(", ")));
            }
            if column.is_empty() {
                return Err(format!("`{spec}`: no column named"));
            }
            if renames.iter().any(|(c, f)| f == field || c == column) {
                return Err(format!("`{spec}`: the field or the column is already mapped"));
            }
            renames.push((column.to_string(), field.to_string()));
        }
        Ok(ColumnMap { renames })
    }

    /// The name a column is read under: its field if it is mapped; a column that
    /// has a mapped field's own name yields that name to the mapped column and
    /// passes through as `original_<name>`; any other column keeps its name.
    pub fn field_name<'a>(&self, column: &'a str) -> Cow<'a, str> {
        if let Some((_, field)) = self.renames.iter().find(|(c, _)| c == column) {
            return Cow::Owned(field.clone());
        }
        if self.renames.iter().any(|(_, f)| f == column) {
            return Cow::Owned(format!("original_{column}"));
        }
        Cow::Borrowed(column)
    }

    pub fn is_empty(&self) -> bool {
        self.renames.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_columns_to_fields_and_keeps_a_displaced_column() {
        let map = ColumnMap::parse(&["text=评价内容", " id = 订单号 "]).unwrap();
        assert_eq!(map.field_name("评价内容"), "text");
        assert_eq!(map.field_name("订单号"), "id");
        assert_eq!(map.field_name("text"), "original_text");
        assert_eq!(map.field_name("店铺"), "店铺");
        assert!(ColumnMap::parse::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_specifications() {
        assert!(ColumnMap::parse(&["评价内容"]).unwrap_err().contains("FIELD=COLUMN"));
        assert!(ColumnMap::parse(&["body=评价内容"]).unwrap_err().contains("not a record field"));
        assert!(ColumnMap::parse(&["text="]).unwrap_err().contains("no column"));
        assert!(ColumnMap::parse(&["text=a", "text=b"]).unwrap_err().contains("already mapped"));
        assert!(ColumnMap::parse(&["text=a", "id=a"]).unwrap_err().contains("already mapped"));
    }
}
