"""The pure core: rule matching, points arithmetic, deadlines, warning grouping, clawbacks.

Nothing here performs I/O or imports redis, kafka or faust; adapters call these functions with
plain data and store or publish what they return.
"""
