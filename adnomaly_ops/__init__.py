"""Operations tooling: what starts, loads, breaks and measures the data plane (`streaming`).

The stack manager (`stack`), benchmarks (`bench`), fault injection (`chaos`) and the demo. It may
import the data plane; the data plane never imports it.
"""
