/* USB chapter 9 constants shared by the URB engine, its backends and its tests: the
 * values of the kernel's <linux/usb/ch9.h>, iop_-prefixed so that lib/ needs no
 * kernel or libusb header. */
#pragma once

#include <stdint.h>

/* Device speeds, in the kernel's order (enum usb_device_speed without WIRELESS). */
enum iop_usb_speed {
    IOP_USB_SPEED_UNKNOWN = 0,
    IOP_USB_SPEED_LOW,        /* 1.5 Mbit/s, periodic units are 1 ms frames */
    IOP_USB_SPEED_FULL,       /* 12 Mbit/s, 1 ms frames */
    IOP_USB_SPEED_HIGH,       /* 480 Mbit/s, 125 us microframes */
    IOP_USB_SPEED_SUPER,      /* 5 Gbit/s, 125 us */
    IOP_USB_SPEED_SUPER_PLUS, /* 10/20 Gbit/s, 125 us */
};

/* bmRequestType */
#define IOP_USB_DIR_IN 0x80u
#define IOP_USB_TYPE_MASK 0x60u
#define IOP_USB_TYPE_STANDARD 0x00u
#define IOP_USB_TYPE_CLASS 0x20u
#define IOP_USB_TYPE_VENDOR 0x40u
#define IOP_USB_RECIP_MASK 0x1fu
#define IOP_USB_RECIP_DEVICE 0x00u
#define IOP_USB_RECIP_INTERFACE 0x01u
#define IOP_USB_RECIP_ENDPOINT 0x02u

/* Standard requests (bRequest) */
#define IOP_USB_REQ_GET_STATUS 0x00u
#define IOP_USB_REQ_CLEAR_FEATURE 0x01u
#define IOP_USB_REQ_SET_FEATURE 0x03u
#define IOP_USB_REQ_SET_ADDRESS 0x05u
#define IOP_USB_REQ_GET_DESCRIPTOR 0x06u
#define IOP_USB_REQ_SET_DESCRIPTOR 0x07u
#define IOP_USB_REQ_GET_CONFIGURATION 0x08u
#define IOP_USB_REQ_SET_CONFIGURATION 0x09u
#define IOP_USB_REQ_GET_INTERFACE 0x0au
#define IOP_USB_REQ_SET_INTERFACE 0x0bu
#define IOP_USB_REQ_SYNCH_FRAME 0x0cu

/* Feature selectors */
#define IOP_USB_ENDPOINT_HALT 0x00u

/* Descriptor types and the sizes of the fixed parts we read */
#define IOP_USB_DT_DEVICE 0x01u
#define IOP_USB_DT_CONFIG 0x02u
#define IOP_USB_DT_STRING 0x03u
#define IOP_USB_DT_INTERFACE 0x04u
#define IOP_USB_DT_ENDPOINT 0x05u
#define IOP_USB_DT_SS_ENDPOINT_COMP 0x30u
#define IOP_USB_DT_DEVICE_SIZE 18u
#define IOP_USB_DT_CONFIG_SIZE 9u
#define IOP_USB_DT_INTERFACE_SIZE 9u
#define IOP_USB_DT_ENDPOINT_SIZE 7u
#define IOP_USB_DT_SS_EP_COMP_SIZE 6u

/* Endpoint addresses and bmAttributes */
#define IOP_USB_ENDPOINT_NUMBER_MASK 0x0fu
#define IOP_USB_ENDPOINT_DIR_MASK 0x80u
#define IOP_USB_ENDPOINT_XFERTYPE_MASK 0x03u
#define IOP_USB_ENDPOINT_XFER_CONTROL 0u /* descriptor encoding, not enum iop_xfer */
#define IOP_USB_ENDPOINT_XFER_ISOC 1u
#define IOP_USB_ENDPOINT_XFER_BULK 2u
#define IOP_USB_ENDPOINT_XFER_INT 3u

/* Endpoints per direction (4-bit endpoint number). */
#define IOP_USB_ENDPOINTS 16u
/* Interfaces per configuration the engine tracks: the kernel's USB_MAXINTERFACES. */
#define IOP_USB_MAX_INTERFACES 32u
/* Configurations per device the engine reads: the kernel's USB_MAXCONFIG; devices that
 * claim more are read up to this many, as usb_get_configuration() does. */
#define IOP_USB_MAX_CONFIGS 8u
/* Port path depth: USB allows 7 tiers below the root (libusb_get_port_numbers). */
#define IOP_USB_MAX_PORTS 7u

/* The 8-byte SETUP packet's fields (little-endian on the wire). */
#define IOP_USB_SETUP_SIZE 8u
