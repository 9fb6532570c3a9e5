// The wire's value types (QueuePairNumber, PacketSequenceNumber, GID-carrying headers) are part of
// the verbs API; clients of SoftRoCE see them without importing SoftRoCEWire.
@_exported public import SoftRoCEWire
