/*
 * systab.h - the argument types of the Linux x86-64 system calls, for the fuzzer (fuzz.c).
 * One string per number: one letter per argument (up to 6).  Numbers not listed get generic
 * values ("xxxxxx").  Letters:
 *   f fd              p pointer the kernel reads     o pointer the kernel writes
 *   s path            d scratch-directory path (mount targets, chroot)
 *   n size / length   F flags (random bits)          i small int        I any 64-bit value
 *   P pid (own family only)   S signal number        m mode             u uid/gid
 *   c clock id        t timespec pointer             T timeout in ms    v iovec array pointer
 *   a address in the worker's scratch region (memory-management calls)
 *   x any of the above       0 zero
 * Calls with side effects the worker must survive (mmap family, clone family, exit, execve,
 * rt_sigaction, arch_prctl, reboot, kill with pid -1, ...) are special-cased in fuzz.c.
 */
#ifndef FUZZ_SYSTAB_H
#define FUZZ_SYSTAB_H

#define SYS_MAX 463

static const char *const systab[SYS_MAX] = {
	[0] = "fon", [1] = "fpn", [2] = "sFm", [3] = "f", [4] = "so", [5] = "fo", [6] = "so",
	[7] = "pnT", [8] = "fIi", [9] = "anFFfI", [10] = "anF", [11] = "an", [12] = "a",
	[13] = "Sppn", [14] = "ipon", [15] = "", [16] = "fIo", [17] = "fonI", [18] = "fpnI",
	[19] = "fvi", [20] = "fvi", [21] = "si", [22] = "o", [23] = "ioooo", [24] = "",
	[25] = "annFa", [26] = "anF", [27] = "ano", [28] = "ani", [29] = "InF", [30] = "ipF",
	[31] = "iip", [32] = "f", [33] = "ff", [34] = "", [35] = "to", [36] = "io", [37] = "i",
	[38] = "ipo", [39] = "", [40] = "ffon", [41] = "iii", [42] = "fpn", [43] = "foo",
	[44] = "fpnFpn", [45] = "fonFoo", [46] = "fpF", [47] = "foF", [48] = "fi", [49] = "fpn",
	[50] = "fi", [51] = "foo", [52] = "foo", [53] = "iiio", [54] = "fiipn", [55] = "fiioo",
	[56] = "Faoop", [57] = "", [58] = "", [59] = "spp", [60] = "i", [61] = "PoFo", [62] = "PS",
	[63] = "o", [64] = "IiF", [65] = "ipnt", [66] = "iiiI", [67] = "p", [68] = "IF",
	[69] = "ipnF", [70] = "ionIF", [71] = "iip", [72] = "fiI", [73] = "fi", [74] = "f",
	[75] = "f", [76] = "sI", [77] = "fI", [78] = "fon", [79] = "on", [80] = "s", [81] = "f",
	[82] = "ss", [83] = "sm", [84] = "s", [85] = "sm", [86] = "ss", [87] = "s", [88] = "ss",
	[89] = "son", [90] = "sm", [91] = "fm", [92] = "suu", [93] = "fuu", [94] = "suu",
	[95] = "m", [96] = "oo", [97] = "io", [98] = "io", [99] = "o", [100] = "o", [101] = "iPpp",
	[102] = "", [103] = "ion", [104] = "", [105] = "u", [106] = "u", [107] = "", [108] = "",
	[109] = "PP", [110] = "", [111] = "", [112] = "", [113] = "uu", [114] = "uu", [115] = "io",
	[116] = "ip", [117] = "uuu", [118] = "ooo", [119] = "uuu", [120] = "ooo", [121] = "P",
	[122] = "u", [123] = "u", [124] = "P", [125] = "po", [126] = "pp", [127] = "on",
	[128] = "potn", [129] = "PSp", [130] = "pn", [131] = "po", [132] = "sp", [133] = "smI",
	[134] = "s", [135] = "I", [136] = "Io", [137] = "so", [138] = "fo", [139] = "iIo",
	[140] = "iP", [141] = "iPi", [142] = "Pp", [143] = "Po", [144] = "Pip", [145] = "P",
	[146] = "i", [147] = "i", [148] = "Po", [149] = "an", [150] = "an", [151] = "i",
	[152] = "", [153] = "", [154] = "ion", [155] = "dd", [156] = "p", [157] = "iIIII",
	[158] = "iI", [159] = "o", [160] = "ip", [161] = "d", [162] = "", [163] = "s",
	[164] = "pp", [165] = "ddsFp", [166] = "dF", [167] = "sF", [168] = "s", [169] = "IIIp",
	[170] = "pn", [171] = "pn", [172] = "i", [173] = "IIi", [174] = "sn", [175] = "pnp",
	[176] = "sF", [177] = "so", [178] = "po", [179] = "isIp", [180] = "ipo", [181] = "xxxx",
	[182] = "xxxx", [183] = "xxxx", [184] = "xxxx", [185] = "xxxx", [186] = "", [187] = "fIn",
	[188] = "sspnF", [189] = "sspnF", [190] = "fspnF", [191] = "sson", [192] = "sson",
	[193] = "fson", [194] = "son", [195] = "son", [196] = "fon", [197] = "ss", [198] = "ss",
	[199] = "fs", [200] = "PS", [201] = "o", [202] = "piItpI", [203] = "Pnp", [204] = "Pno",
	[205] = "p", [206] = "io", [207] = "I", [208] = "IiIot", [209] = "Iip", [210] = "Ipo",
	[211] = "o", [212] = "Ion", [213] = "i", [214] = "xxxx", [215] = "xxxx", [216] = "anIIF",
	[217] = "fon", [218] = "p", [219] = "", [220] = "ipnt", [221] = "fIIi", [222] = "cpo",
	[223] = "iFpo", [224] = "io", [225] = "i", [226] = "i", [227] = "cp", [228] = "co",
	[229] = "co", [230] = "cFto", [231] = "i", [232] = "foiT", [233] = "fifp", [234] = "PPS",
	[235] = "sp", [236] = "xxxx", [237] = "anIpII", [238] = "ipI", [239] = "oopII",
	[240] = "sFmp", [241] = "s", [242] = "fpnit", [243] = "fonot", [244] = "fp",
	[245] = "fpo", [246] = "Iipi", [247] = "iPoFo", [248] = "sspnI", [249] = "sssI",
	[250] = "iIIII", [251] = "iPi", [252] = "iP", [253] = "", [254] = "fsF", [255] = "fi",
	[256] = "Pnpp", [257] = "fsFm", [258] = "fsm", [259] = "fsmI", [260] = "fsuuF",
	[261] = "fsp", [262] = "fsoF", [263] = "fsF", [264] = "fsfs", [265] = "fsfsF",
	[266] = "sfs", [267] = "fson", [268] = "fsmF", [269] = "fsiF", [270] = "iooooo",
	[271] = "pntpn", [272] = "F", [273] = "pn", [274] = "Poo", [275] = "fofonF",
	[276] = "ffnF", [277] = "fIIF", [278] = "fviF", [279] = "Pnppoi", [280] = "fspF",
	[281] = "foiTpn", [282] = "fpn", [283] = "cF", [284] = "i", [285] = "fiII",
	[286] = "fFpo", [287] = "fo", [288] = "fooF", [289] = "fpnF", [290] = "iF", [291] = "F",
	[292] = "ffF", [293] = "oF", [294] = "F", [295] = "fviII", [296] = "fviII",
	[297] = "PPSp", [298] = "pPiiF", [299] = "fonFt", [300] = "FF", [301] = "fFIfs",
	[302] = "Pipo", [303] = "fsooF", [304] = "fpF", [305] = "co", [306] = "f", [307] = "fpnF",
	[308] = "fi", [309] = "ooo", [310] = "Pvivi0", [311] = "Pvivi0", [312] = "PPiII",
	[313] = "fsF", [314] = "PpF", [315] = "PonF", [316] = "fsfsF", [317] = "iFp",
	[318] = "onF", [319] = "sF", [320] = "ffnsF", [321] = "ipn", [322] = "fsppF",
	[323] = "F", [324] = "iFi", [325] = "anF", [326] = "fofonF", [327] = "fviIIF",
	[328] = "fviIIF", [329] = "anFi", [330] = "FF", [331] = "i", [332] = "fsFIo",
	[333] = "IiIotp", [334] = "pnFi",
	[424] = "fSpF", [425] = "io", [426] = "fiiFpn", [427] = "fipi", [428] = "fsF",
	[429] = "fsfsF", [430] = "sF", [431] = "fispi", [432] = "fFF", [433] = "fsF", [434] = "PF",
	[435] = "pn", [436] = "ffF", [437] = "fspn", [438] = "ffF", [439] = "fsiF",
	[440] = "fviiF", [441] = "foitpn", [442] = "fsFpn", [443] = "fiIp", [444] = "pnF",
	[445] = "fipF", [446] = "fF", [447] = "F", [448] = "fF", [449] = "piFtc", [450] = "anII",
	[451] = "fpnoF", [452] = "fsmF", [453] = "anF", [454] = "pIiF", [455] = "pIIFtc",
	[456] = "pFIi", [457] = "ponF", [458] = "ponF", [459] = "iopF", [460] = "ipnF",
	[461] = "pnF", [462] = "anF",
};

#endif
