//! The one table layout every list command prints: a header row and
//! columns padded to their widest cell, two spaces apart, so that the
//! output lines up whatever the data (and stays friendly to `awk`/`column`).

/// A table of text cells; the last column is not padded, so long titles
/// and reasons do not drag trailing spaces.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<const N: usize>(header: [&str; N]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row<const N: usize>(&mut self, cells: [String; N]) {
        self.rows.push(cells.into());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Widths are counted in characters, not bytes: names and titles may
    /// hold "—" or accented letters.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                let pad = widths
                    .get(i)
                    .map_or(0, |w| w.saturating_sub(cell.chars().count()));
                line.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_on_the_widest_cell_in_characters() {
        let mut t = Table::new(["ID", "STATE", "TITLE"]);
        t.row(["INC-1".into(), "triggered".into(), "checkout — 5xx".into()]);
        t.row(["INC-12".into(), "ok".into(), "x".into()]);
        assert_eq!(
            t.render(),
            "ID      STATE      TITLE\n\
             INC-1   triggered  checkout — 5xx\n\
             INC-12  ok         x\n"
        );
    }
}
