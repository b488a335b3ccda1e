bits 16
  mov ax, 
