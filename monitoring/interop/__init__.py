"""Lab interop: HL7 v2 ORU^R01 (files and MLLP), FHIR R4, and the quarantine they share."""
