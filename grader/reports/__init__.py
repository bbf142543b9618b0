"""Report formats: each turns results into files and never reaches back into grading."""
