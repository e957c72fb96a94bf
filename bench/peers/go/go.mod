module coscope.example/peers

go 1.19
