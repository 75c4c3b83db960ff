//! A baseline's DataFrame as the text the store keeps: JSON, column by
//! column, with each column's type, so `saved NAME` gives back the frame
//! `save NAME` was given (numbers stay numbers, nulls stay null).

use polars::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct StoredFrame {
    columns: Vec<StoredColumn>,
}

#[derive(Serialize, Deserialize)]
struct StoredColumn {
    name: String,
    #[serde(flatten)]
    values: Values,
}

/// A column's values by type. Integers keep their width and sign
/// (`exit` is i32, `duration_ms` u64); any other type is kept as its text.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", content = "values", rename_all = "lowercase")]
enum Values {
    Str(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    U32(Vec<Option<u32>>),
    U64(Vec<Option<u64>>),
    F64(Vec<Option<f64>>),
}

/// `frame` as stored text.
pub(super) fn encode(frame: &DataFrame) -> PolarsResult<String> {
    let columns = frame
        .columns()
        .iter()
        .map(|column| {
            let values = match column.dtype() {
                DataType::Boolean => Values::Bool(column.bool()?.iter().collect()),
                DataType::Int32 => Values::I32(column.i32()?.iter().collect()),
                DataType::Int64 => Values::I64(column.i64()?.iter().collect()),
                DataType::UInt32 => Values::U32(column.u32()?.iter().collect()),
                DataType::UInt64 => Values::U64(column.u64()?.iter().collect()),
                DataType::Float32 | DataType::Float64 => {
                    let floats = column.cast(&DataType::Float64)?;
                    Values::F64(floats.f64()?.iter().collect())
                }
                _ => {
                    let text = column.cast(&DataType::String)?;
                    Values::Str(text.str()?.iter().map(|v| v.map(String::from)).collect())
                }
            };
            Ok(StoredColumn {
                name: column.name().to_string(),
                values,
            })
        })
        .collect::<PolarsResult<_>>()?;
    serde_json::to_string(&StoredFrame { columns })
        .map_err(|e| PolarsError::ComputeError(e.to_string().into()))
}

/// The frame [`encode`] stored.
pub(super) fn decode(text: &str) -> Result<DataFrame, String> {
    let stored: StoredFrame = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let height = stored.columns.first().map_or(0, |c| c.values.len());
    let columns = stored
        .columns
        .into_iter()
        .map(|StoredColumn { name, values }| {
            let name = PlSmallStr::from(name);
            match values {
                Values::Str(v) => Column::new(name, v),
                Values::Bool(v) => Column::new(name, v),
                Values::I32(v) => Column::new(name, v),
                Values::I64(v) => Column::new(name, v),
                Values::U32(v) => Column::new(name, v),
                Values::U64(v) => Column::new(name, v),
                Values::F64(v) => Column::new(name, v),
            }
        })
        .collect();
    DataFrame::new(height, columns).map_err(|e| e.to_string())
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Str(v) => v.len(),
            Values::Bool(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::U32(v) => v.len(),
            Values::U64(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }
}
