// Gateway::Loop's journal stage (gateway/journal.h): being written.
