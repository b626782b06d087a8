mod toxics;
