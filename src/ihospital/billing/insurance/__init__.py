"""Medical insurance (医保): coverage, the regional policy table, the settlement engine, the
year-to-date totals and the insurance platform (issue 3, item 4)."""
