#include "pc/apic_windows.hpp"

namespace transit86::pc {

namespace {

constexpr uint32_t kLvtMasked = 0x00010000;
constexpr uint32_t kIcrDeliveryPending = 0x00001000;
constexpr uint64_t kRedirectionMasked = 0x10000;
// Delivery status (12) and remote IRR (14) of a redirection entry are read-only.
constexpr uint64_t kRedirectionReadOnly = (1u << 12) | (1u << 14);

// Local APIC register indices (offset / 16).
constexpr unsigned kId = 0x02;
constexpr unsigned kVersionIndex = 0x03;
constexpr unsigned kTaskPriority = 0x08;
constexpr unsigned kArbitrationPriority = 0x09;
constexpr unsigned kProcessorPriority = 0x0A;
constexpr unsigned kEoi = 0x0B;
constexpr unsigned kLogicalDestination = 0x0D;
constexpr unsigned kDestinationFormat = 0x0E;
constexpr unsigned kSpuriousVector = 0x0F;
constexpr unsigned kInServiceFirst = 0x10; // ISR, TMR, IRR: 0x10-0x27, all zero
constexpr unsigned kRequestLast = 0x27;
constexpr unsigned kErrorStatus = 0x28;
constexpr unsigned kIcrLow = 0x30;
constexpr unsigned kIcrHigh = 0x31;
constexpr unsigned kLvtFirst = 0x32;
constexpr unsigned kLvtLast = 0x37;
constexpr unsigned kTimerInitialCount = 0x38;
constexpr unsigned kTimerCurrentCount = 0x39;
constexpr unsigned kTimerDivide = 0x3E;

// I/O APIC.
constexpr uint64_t kIoRegisterSelect = 0x00;
constexpr uint64_t kIoWindow = 0x10;
constexpr uint64_t kIoEoi = 0x40;
constexpr uint8_t kIoApicId = 0x00;
constexpr uint8_t kIoApicVersion = 0x01;
constexpr uint8_t kIoApicArbitration = 0x02;
constexpr uint8_t kRedirectionFirst = 0x10;

} // namespace

// --- local APIC ---------------------------------------------------------------------------------

LocalApicWindow::LocalApicWindow(uint8_t apic_id, DeviceLog* log) : log_(log), id_(apic_id) {
    reset();
}

void LocalApicWindow::reset() {
    task_priority_ = 0;
    logical_destination_ = 0;
    destination_format_ = 0xF;
    spurious_vector_ = 0xFF;
    icr_low_ = icr_high_ = 0;
    lvt_.fill(kLvtMasked);
    timer_initial_count_ = 0;
    timer_divide_ = 0;
    sent_.clear();
}

uint64_t LocalApicWindow::mmio_read(uint64_t offset, uint8_t size) {
    if (size != 4 || (offset & 0xF) != 0 || offset >= kSize) {
        if (log_) log_->unmodelled("local APIC", "access that is not 32-bit and 16-byte aligned");
        return 0;
    }
    return read_register(static_cast<unsigned>(offset >> 4));
}

void LocalApicWindow::mmio_write(uint64_t offset, uint8_t size, uint64_t value) {
    if (size != 4 || (offset & 0xF) != 0 || offset >= kSize) {
        if (log_) log_->unmodelled("local APIC", "access that is not 32-bit and 16-byte aligned");
        return;
    }
    write_register(static_cast<unsigned>(offset >> 4), static_cast<uint32_t>(value));
}

uint32_t LocalApicWindow::read_register(unsigned index) {
    switch (index) {
    case kId: return uint32_t{id_} << 24;
    case kVersionIndex: return kVersion;
    case kTaskPriority: return task_priority_;
    case kArbitrationPriority: return 0;
    case kProcessorPriority: return task_priority_; // nothing in service: PPR = TPR
    case kEoi: return 0;
    case kLogicalDestination: return uint32_t{logical_destination_} << 24;
    case kDestinationFormat: return (uint32_t{destination_format_} << 28) | 0x0FFFFFFF;
    case kSpuriousVector: return spurious_vector_;
    case kErrorStatus: return 0;
    case kIcrLow: return icr_low_; // delivery status: always idle
    case kIcrHigh: return icr_high_;
    case kTimerInitialCount: return timer_initial_count_;
    case kTimerCurrentCount: return 0; // the timer does not run
    case kTimerDivide: return timer_divide_;
    default: break;
    }
    if (index >= kInServiceFirst && index <= kRequestLast) return 0; // ISR, TMR, IRR
    if (index >= kLvtFirst && index <= kLvtLast) return lvt_[index - kLvtFirst];
    if (log_) log_->unmodelled("local APIC", "read of a reserved register");
    return 0;
}

void LocalApicWindow::write_register(unsigned index, uint32_t value) {
    switch (index) {
    case kId: id_ = static_cast<uint8_t>(value >> 24); return;
    case kTaskPriority: task_priority_ = static_cast<uint8_t>(value); return;
    case kEoi: return; // nothing is ever in service
    case kLogicalDestination: logical_destination_ = static_cast<uint8_t>(value >> 24); return;
    case kDestinationFormat: destination_format_ = static_cast<uint8_t>(value >> 28); return;
    case kSpuriousVector: spurious_vector_ = static_cast<uint16_t>(value & 0x1FF); return;
    case kErrorStatus: return; // writing ESR latches the (always empty) error state
    case kIcrLow:
        // The send: recorded for whoever asks; there is no other CPU to receive it.
        icr_low_ = value & ~kIcrDeliveryPending;
        sent_.push_back({icr_low_, icr_high_});
        return;
    case kIcrHigh: icr_high_ = value & 0xFF000000; return;
    case kTimerInitialCount:
        timer_initial_count_ = value;
        if (value != 0 && log_)
            log_->unmodelled("local APIC", "timer (initial count set; it never fires)");
        return;
    case kTimerDivide: timer_divide_ = value & 0xB; return;
    default: break;
    }
    if (index >= kLvtFirst && index <= kLvtLast) {
        lvt_[index - kLvtFirst] = value;
        return;
    }
    if (log_) log_->unmodelled("local APIC", "write to a read-only or reserved register");
}

// --- I/O APIC
// -------------------------------------------------------------------------------------

IoApicWindow::IoApicWindow(uint8_t version, DeviceLog* log) : log_(log), version_(version) {
    reset();
}

void IoApicWindow::reset() {
    select_ = 0;
    id_ = 0;
    redirection_.fill(kRedirectionMasked);
}

uint64_t IoApicWindow::mmio_read(uint64_t offset, uint8_t size) {
    if (offset == kIoRegisterSelect && size <= 4) return select_;
    if (offset == kIoWindow && size == 4) return read_indirect();
    if (log_) log_->unmodelled("I/O APIC", "read other than IOREGSEL or a 32-bit IOWIN");
    return 0;
}

void IoApicWindow::mmio_write(uint64_t offset, uint8_t size, uint64_t value) {
    if (offset == kIoRegisterSelect && size <= 4) {
        select_ = static_cast<uint8_t>(value);
    } else if (offset == kIoWindow && size == 4) {
        write_indirect(static_cast<uint32_t>(value));
    } else if (offset == kIoEoi && size == 4 && version_ >= 0x20) {
        // EOI register (version 0x20): nothing is ever delivered, so nothing awaits an EOI.
    } else {
        if (log_) log_->unmodelled("I/O APIC", "write other than IOREGSEL or a 32-bit IOWIN");
    }
}

uint32_t IoApicWindow::read_indirect() {
    switch (select_) {
    case kIoApicId:
    case kIoApicArbitration: return uint32_t{id_} << 24; // QEMU reads the ID for both
    case kIoApicVersion: return ((kPins - 1) << 16) | version_;
    default: break;
    }
    const unsigned entry = (select_ - kRedirectionFirst) / 2u;
    if (select_ >= kRedirectionFirst && entry < kPins)
        return static_cast<uint32_t>(redirection_[entry] >> (select_ & 1 ? 32 : 0));
    if (log_) log_->unmodelled("I/O APIC", "read of a register IOREGSEL does not name");
    return 0;
}

void IoApicWindow::write_indirect(uint32_t value) {
    if (select_ == kIoApicId) {
        id_ = static_cast<uint8_t>((value >> 24) & 0x0F);
        return;
    }
    const unsigned entry = (select_ - kRedirectionFirst) / 2u;
    if (select_ < kRedirectionFirst || entry >= kPins) {
        if (log_) log_->unmodelled("I/O APIC", "write to a read-only or unnamed register");
        return;
    }
    uint64_t& redirection = redirection_[entry];
    if (select_ & 1) {
        redirection = (redirection & 0xFFFFFFFFu) | (uint64_t{value} << 32);
    } else {
        const uint64_t read_only = redirection & kRedirectionReadOnly;
        redirection =
            (redirection & ~uint64_t{0xFFFFFFFF}) | (value & ~kRedirectionReadOnly) | read_only;
    }
}

} // namespace transit86::pc
