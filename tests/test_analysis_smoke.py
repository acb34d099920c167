"""First checks of the default analyzer on the issue's examples."""

import bnsearch


def test_issue_examples_conflate() -> None:
    terms = bnsearch.analyze("বাংলাদেশের বাংলাদেশকে বাংলাদেশে")
    assert len(set(terms)) == 1
    assert bnsearch.analyze("বৈঠকে") == bnsearch.analyze("বৈঠক")
    assert bnsearch.analyze("পুলিশ") != bnsearch.analyze("পুল")
