"""The contract between the desk, the portal and the reports: plain Python shared by every part."""
