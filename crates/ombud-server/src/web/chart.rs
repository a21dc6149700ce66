//! SVG bar charts laid out on the server, so that templates only draw them
//! (`templates/bar_chart.html`). Every chart in the console is one of
//! these, with its numbers in a table beside it.

/// A bar of a chart, in the chart's own units.
pub(super) struct Bar {
    pub(super) x: i64,
    pub(super) y: i64,
    pub(super) width: i64,
    pub(super) height: i64,
    pub(super) label: String,
    pub(super) value: String,
}

/// A label drawn on a chart.
pub(super) struct Label {
    pub(super) x: i64,
    pub(super) y: i64,
    pub(super) class: &'static str,
    pub(super) text: String,
}

/// An SVG bar chart, laid out here so that the template only draws it.
pub(super) struct BarChart {
    pub(super) title: String,
    pub(super) width: i64,
    pub(super) height: i64,
    pub(super) bars: Vec<Bar>,
    pub(super) labels: Vec<Label>,
}

impl BarChart {
    /// One horizontal bar per `(label, value)`, longest for the largest.
    pub(super) fn horizontal(title: &str, rows: &[(String, f64)]) -> BarChart {
        const LABEL: i64 = 150;
        const ROW: i64 = 28;
        const WIDTH: i64 = 600;
        let most = largest(rows.iter().map(|r| r.1));
        let mut chart = BarChart {
            title: title.into(),
            width: WIDTH,
            height: ROW * rows.len().max(1) as i64,
            bars: Vec::new(),
            labels: Vec::new(),
        };
        for (n, (label, value)) in rows.iter().enumerate() {
            let y = n as i64 * ROW;
            let width = scaled(WIDTH - LABEL - 60, *value, most);
            chart.labels.push(Label {
                x: 0,
                y: y + 18,
                class: "axis",
                text: label.clone(),
            });
            chart.bars.push(Bar {
                x: LABEL,
                y: y + 4,
                width,
                height: ROW - 8,
                label: label.clone(),
                value: number(*value),
            });
            chart.labels.push(Label {
                x: LABEL + width + 6,
                y: y + 18,
                class: "value",
                text: number(*value),
            });
        }
        chart
    }

    /// One vertical bar per `(label, value)`, left to right; every seventh
    /// label is written under the axis.
    pub(super) fn vertical(title: &str, columns: &[(String, f64)]) -> BarChart {
        const HEIGHT: i64 = 180;
        const AXIS: i64 = 20;
        const COLUMN: i64 = 20;
        let most = largest(columns.iter().map(|c| c.1));
        let mut chart = BarChart {
            title: title.into(),
            width: COLUMN * columns.len().max(1) as i64,
            height: HEIGHT + AXIS,
            bars: Vec::new(),
            labels: Vec::new(),
        };
        for (n, (label, value)) in columns.iter().enumerate() {
            let x = n as i64 * COLUMN;
            let height = scaled(HEIGHT - 10, *value, most);
            chart.bars.push(Bar {
                x: x + 2,
                y: HEIGHT - height,
                width: COLUMN - 4,
                height,
                label: label.clone(),
                value: number(*value),
            });
            if n % 7 == 0 {
                chart.labels.push(Label {
                    x,
                    y: HEIGHT + AXIS - 4,
                    class: "axis",
                    text: label.clone(),
                });
            }
        }
        chart
    }
}

/// The largest value, or 1 when none is positive (an empty chart).
fn largest(values: impl Iterator<Item = f64>) -> f64 {
    let most = values.fold(0.0, f64::max);
    if most > 0.0 { most } else { 1.0 }
}

/// `value`'s share of `full` units, `most` filling them all.
fn scaled(full: i64, value: f64, most: f64) -> i64 {
    (full as f64 * value.max(0.0) / most).round() as i64
}

/// A number as a chart labels it: whole numbers without a fraction.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}
