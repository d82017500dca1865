"""The interviewing form (issue 12): so far its foundation, the expression
compiler to JavaScript (``jscompile``) and its runtime (``runtime.js``).
The form target itself is not built yet."""
