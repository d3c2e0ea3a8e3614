//! A table as data: columns and rows of cells that carry their text, a sort key, a tooltip
//! and second lines; rendered by one template macro (`templates/macros.html`). Columns whose
//! every cell is empty are left out ([`Table::prune`]), so a table shows only what the study
//! recorded.

use serde::Serialize;

/// One column: its header, alignment and an explanation shown on hover.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    /// Left-aligned (text) rather than right-aligned (numbers).
    pub left: bool,
    pub help: Option<String>,
}

/// One cell.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cell {
    pub text: String,
    /// Numeric sort key (seconds, bytes, …); text cells sort by their text.
    pub sort: Option<f64>,
    /// Tooltip: the details that would crowd the cell (min–max, a note).
    pub title: Option<String>,
    /// Second lines in small type (the interval).
    pub sub: Vec<String>,
    /// CSS class of the text: `bad`, `better`, `worse`, `mild`, `severe`.
    pub class: Option<&'static str>,
    pub href: Option<String>,
}

impl Cell {
    /// A text cell.
    pub fn text(t: impl Into<String>) -> Cell {
        Cell {
            text: t.into(),
            ..Cell::default()
        }
    }

    /// A number formatted by `fmt`, sorting by its value; empty when `None`.
    pub fn num(v: Option<f64>, fmt: impl Fn(f64) -> String) -> Cell {
        match v {
            Some(x) => Cell {
                text: fmt(x),
                sort: Some(x),
                ..Cell::default()
            },
            None => Cell::default(),
        }
    }

    /// With a second line.
    pub fn under(mut self, line: impl Into<String>) -> Cell {
        self.sub.push(line.into());
        self
    }

    /// With a tooltip.
    pub fn title(mut self, t: impl Into<String>) -> Cell {
        self.title = Some(t.into());
        self
    }

    /// With a CSS class.
    pub fn class(mut self, c: &'static str) -> Cell {
        self.class = Some(c);
        self
    }

    fn is_empty(&self) -> bool {
        self.text.is_empty() && self.sub.is_empty()
    }
}

/// One row; `bad` rows (failed, not enforced) are tinted.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub bad: bool,
}

/// A table with an element id and the sentence shown when it has no rows.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub id: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    pub empty: String,
}

impl Table {
    /// An empty table with columns `(name, left)`.
    pub fn new(id: &str, columns: &[(&str, bool)]) -> Table {
        Table {
            id: id.into(),
            columns: columns
                .iter()
                .map(|(n, l)| Column {
                    name: (*n).into(),
                    left: *l,
                    help: None,
                })
                .collect(),
            rows: Vec::new(),
            empty: "None.".into(),
        }
    }

    /// Adds a row.
    ///
    /// # Panics
    /// If the row's length differs from the columns'.
    pub fn push(&mut self, cells: Vec<Cell>, bad: bool) {
        assert_eq!(
            cells.len(),
            self.columns.len(),
            "table {}: row length",
            self.id
        );
        self.rows.push(Row { cells, bad });
    }

    /// Leaves out every column whose cells are all empty.
    pub fn prune(mut self) -> Table {
        let keep: Vec<bool> = (0..self.columns.len())
            .map(|c| self.rows.iter().any(|r| !r.cells[c].is_empty()))
            .collect();
        let mut k = keep.iter();
        self.columns
            .retain(|_| *k.next().expect("one flag per column"));
        for r in &mut self.rows {
            let mut k = keep.iter();
            r.cells.retain(|_| *k.next().expect("one flag per cell"));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_leaves_out_columns_nobody_filled() {
        let mut t = Table::new("t", &[("a", true), ("auc", false), ("b", false)]);
        t.push(
            vec![
                Cell::text("x"),
                Cell::num(None, |v| v.to_string()),
                Cell::num(Some(2.0), |v| v.to_string()),
            ],
            false,
        );
        t.push(
            vec![Cell::text("y"), Cell::default(), Cell::default()],
            true,
        );
        let t = t.prune();
        assert_eq!(
            t.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(t.rows[0].cells[1].text, "2");
        assert_eq!(t.rows[0].cells[1].sort, Some(2.0));
        assert_eq!(t.rows[1].cells.len(), 2);
    }
}
