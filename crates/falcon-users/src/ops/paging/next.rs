//! The paging decision: where a part of a listing goes after each page.

/// What the last page of a part brought: asked from `offset` with `limit`, `received` rows, of
/// which `new` were not received from the part before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) offset: u64,
    pub(crate) limit: u64,
    pub(crate) received: u64,
    pub(crate) new: u64,
}

/// Where a part goes after a page ([`next_page`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Ask for `limit` rows from `offset`.
    Page { offset: u64, limit: u64 },
    /// Every row the part counted (or, with no count, every row the service gives) is listed.
    Done,
    /// Rows are left past the ceiling: split the part, or report them missing.
    Ceiling,
    /// The page held only rows received already: the service ignores the offset.
    Repeats,
    /// The service gives nothing more, but counted `missing` rows more than were listed.
    Short { missing: u64 },
}

/// The paging decision of one part, from the count of its first page (`total`), the distinct
/// rows listed from it so far (`listed`) and its last page.
///
/// The next page starts where the last one was asked to end, not after the rows received: a page
/// longer than asked (duplicates, say) would otherwise push the offset past rows never sent. Rows
/// received twice are dropped by the caller, so an overlap costs nothing; rows a short page left
/// out are reported missing, not guessed at from a shifted offset. A part ends complete only when
/// it holds as many distinct rows as it counted (or, without a count, at a page shorter than
/// asked); ending short of the count is [`Next::Short`], never [`Next::Done`]. A part that
/// reaches its count's offset short of it after a full page reads on (rows created meanwhile
/// shift the pages), and is short only when the service then gives nothing more.
pub(crate) fn next_page(
    total: Option<u64>,
    listed: u64,
    last: Answer,
    page_size: u64,
    ceiling: u64,
) -> Next {
    if total.is_some_and(|total| listed >= total) {
        return Next::Done;
    }
    let next = last.offset.saturating_add(last.limit);
    let more = last.received > 0
        && match total {
            // Short of the count at its end, after a full page: rows added while the part was
            // listed pushed some of the counted ones past it. Read on while pages come full.
            Some(total) => next < total || last.received >= last.limit,
            None => last.received >= last.limit,
        };
    if !more {
        return match total {
            Some(total) => Next::Short {
                missing: total - listed,
            },
            None => Next::Done,
        };
    }
    if last.new == 0 {
        return Next::Repeats;
    }
    if next >= ceiling {
        return Next::Ceiling;
    }
    Next::Page {
        offset: next,
        limit: page_size.min(ceiling - next).max(1),
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::partition::DEFAULT_OFFSET_CEILING;

    use super::*;

    /// The decision after each page, as a table: (count, distinct rows listed, last page as
    /// (offset, limit, received, new), next step), with pages of 500 under a ceiling of 10,000.
    #[test]
    fn the_next_page_starts_where_the_last_was_asked_to_end() {
        use Next::*;
        /// (name, count, listed, (offset, limit, received, new), next).
        type Case = (&'static str, Option<u64>, u64, (u64, u64, u64, u64), Next);
        let cases: [Case; 18] = [
            (
                "rows added meanwhile pushed counted ones past the count: read on",
                Some(400),
                393,
                (300, 100, 100, 93),
                Page {
                    offset: 400,
                    limit: 500,
                },
            ),
            (
                "read on past the count, and nothing came",
                Some(400),
                393,
                (400, 100, 0, 0),
                Short { missing: 7 },
            ),
            (
                "full first page",
                Some(700),
                500,
                (0, 500, 500, 500),
                Page {
                    offset: 500,
                    limit: 500,
                },
            ),
            (
                "550 ids, 50 twice: on from 500, not 550",
                Some(700),
                500,
                (0, 500, 550, 500),
                Page {
                    offset: 500,
                    limit: 500,
                },
            ),
            (
                "550 distinct: on from 500, the overlap is dropped",
                Some(1_200),
                550,
                (0, 500, 550, 550),
                Page {
                    offset: 500,
                    limit: 500,
                },
            ),
            (
                "a short page: on from 1,000, not 900",
                Some(2_000),
                900,
                (500, 500, 400, 400),
                Page {
                    offset: 1_000,
                    limit: 500,
                },
            ),
            (
                "the count is reached",
                Some(700),
                700,
                (500, 500, 200, 200),
                Done,
            ),
            (
                "an overfull page reaches the count early",
                Some(550),
                550,
                (0, 500, 550, 550),
                Done,
            ),
            (
                "no count, a short page",
                None,
                700,
                (500, 500, 200, 200),
                Done,
            ),
            ("no count, an empty page", None, 500, (500, 500, 0, 0), Done),
            (
                "no count, a full page",
                None,
                1_000,
                (500, 500, 500, 500),
                Page {
                    offset: 1_000,
                    limit: 500,
                },
            ),
            (
                "an empty page short of the count",
                Some(200_000),
                2,
                (2, 500, 0, 0),
                Short { missing: 199_998 },
            ),
            (
                "the last page ends short of the count",
                Some(700),
                650,
                (500, 500, 150, 150),
                Short { missing: 50 },
            ),
            (
                "a full page of rows received already",
                Some(9_000),
                2,
                (2, 2, 2, 0),
                Repeats,
            ),
            (
                "the ceiling, rows left",
                Some(12_000),
                10_000,
                (9_500, 500, 500, 500),
                Ceiling,
            ),
            (
                "the page below the ceiling asks for what fits",
                Some(12_000),
                9_800,
                (9_300, 500, 500, 500),
                Page {
                    offset: 9_800,
                    limit: 200,
                },
            ),
            (
                "more counted than listed, the ceiling reached",
                Some(10_000),
                9_950,
                (9_500, 500, 450, 450),
                Short { missing: 50 },
            ),
            (
                "nothing counted, nothing sent",
                Some(0),
                0,
                (0, 500, 0, 0),
                Done,
            ),
        ];
        for (name, total, listed, (offset, limit, received, new), want) in cases {
            let last = Answer {
                offset,
                limit,
                received,
                new,
            };
            assert_eq!(
                next_page(total, listed, last, 500, DEFAULT_OFFSET_CEILING),
                want,
                "{name}"
            );
        }
    }
}
