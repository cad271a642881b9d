# SPDX-License-Identifier: Apache-2.0
"""DICOM JSON (PS3.18 F.2) pieces the cases hand to --metadata."""

# The concept name of the content item that names a specimen in a preparation step.
SPECIMEN_IDENTIFIER = ("121041", "DCM", "Specimen Identifier")


def preparation_naming(specimen_id):
    """A Specimen Preparation Sequence (0040,0610) element of one step whose only content
    item is the TEXT Specimen Identifier `specimen_id` (PS3.16 TID 8001)."""
    value, scheme, meaning = SPECIMEN_IDENTIFIER
    return {"vr": "SQ", "Value": [{
        "00400612": {"vr": "SQ", "Value": [{
            "0040A040": {"vr": "CS", "Value": ["TEXT"]},
            "0040A043": {"vr": "SQ", "Value": [{
                "00080100": {"vr": "SH", "Value": [value]},
                "00080102": {"vr": "SH", "Value": [scheme]},
                "00080104": {"vr": "LO", "Value": [meaning]}}]},
            "0040A160": {"vr": "UT", "Value": [specimen_id]}}]}}]}
